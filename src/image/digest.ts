/** sha256 digests: parsing and streaming verification. One-shot hashes go
 * through the addon (node:crypto costs a CLI ~5 ms to load); streams load
 * node:crypto when they start. */
import type { Hash } from 'node:crypto';
import { PodrunError } from '../errors';
import { nativeFs } from '../native';

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
  return nativeFs().sha256(typeof data === 'string' ? Buffer.from(data) : data);
}

/** Counts and hashes bytes as they pass; `check` throws on a mismatch. */
export class DigestCounter {
  readonly #hash: Hash = (require('node:crypto') as typeof import('node:crypto')).createHash('sha256');
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
