/** sha256 digests: parsing and streaming verification. */
import { createHash, type Hash } from 'node:crypto';
import { PodrunError } from '../errors';

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

/** The hex of a `sha256:<hex>` digest; refuses every other algorithm or shape
 * (a digest becomes a file name, so it is validated before any use). */
export function digestHex(digest: string, what = 'digest'): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw new PodrunError('EIMAGE', `${what} ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`);
  return m[1];
}

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function sha256Of(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Counts and hashes bytes as they pass; `check` throws on a mismatch. */
export class DigestCounter {
  readonly #hash: Hash = createHash('sha256');
  bytes = 0;

  update(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): string {
    return `sha256:${this.#hash.digest('hex')}`;
  }
}

export function digestMismatch(what: string, expected: string, actual: string): PodrunError {
  return new PodrunError('EDIGEST', `${what}: content digest ${actual} does not match the expected ${expected}`);
}
