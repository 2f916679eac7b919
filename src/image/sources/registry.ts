/** A registry over the OCI distribution API as an image source: manifests
 * and blobs by GET, bearer-token and basic auth from the 401 challenge,
 * plain HTTP only when asked (`insecure`). */
import type { Readable } from 'node:stream';
import { PodrunError } from '../../errors';
import type { Descriptor } from '../image-schema';
import { INDEX_TYPES, MANIFEST_TYPES } from '../media-types';
import type { ImageProvider, TopDocument } from '../provider';
import { formatImageRef, registryHost, type ImageRef } from '../reference';
import { HttpClient, readBody, type HttpResponse } from './http-get';
import { basicHeader, defaultAuthFiles, findCredentials, parseChallenge, type Credentials } from './registry-auth';

export interface RegistryOptions {
  /** use plain http (for a local registry without TLS) */
  insecure?: boolean;
  /** a docker-style auth.json to take credentials from */
  authFile?: string;
  /** credentials given directly (win over auth files) */
  credentials?: Credentials;
}

const ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ');
const MAX_DOCUMENT = 4 << 20;

/** OpenSSL's verdicts for a certificate chain whose root is not among the trusted CAs */
const UNTRUSTED_CHAIN = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']);

export class RegistryProvider implements ImageProvider {
  readonly description: string;
  readonly name: string;
  readonly #base: string;
  #authorization?: string;
  readonly #credentials?: Credentials;
  readonly #http = new HttpClient();

  constructor(private readonly ref: ImageRef, opts: RegistryOptions = {}) {
    this.name = formatImageRef(ref);
    this.description = this.name;
    this.#base = `${opts.insecure ? 'http' : 'https'}://${registryHost(ref.registry)}/v2/${ref.repository}`;
    this.#credentials = opts.credentials ?? findCredentials(ref.registry, defaultAuthFiles(), opts.authFile);
  }

  async resolve(): Promise<TopDocument> {
    const res = await this.#get(`manifests/${this.ref.digest ?? this.ref.tag}`, ACCEPT);
    const data = await this.#smallBody(res);
    const mediaType = (res.headers['content-type'] ?? '').split(';')[0].trim() || mediaTypeOf(data);
    return { data, mediaType, digest: this.ref.digest };
  }

  async fetchDocument(desc: Descriptor): Promise<Buffer> {
    const res = await this.#get(`manifests/${desc.digest}`, ACCEPT);
    return this.#smallBody(res);
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    return (await this.#get(`blobs/${desc.digest}`, '*/*')).body;
  }

  async close(): Promise<void> {
    this.#http.close();
  }

  async #get(path: string, accept: string): Promise<HttpResponse> {
    const url = `${this.#base}/${path}`;
    let res = await this.#fetch(url, accept);
    if (res.status === 401) {
      res.body.resume();
      await this.#authenticate(res.headers['www-authenticate']);
      res = await this.#fetch(url, accept);
    }
    if (res.status >= 200 && res.status < 300) return res;
    const text = (await readBody(res, 1 << 16).catch(() => undefined))?.toString() ?? '';
    const detail = registryErrorText(text) ?? `HTTP ${res.status}`;
    if (res.status === 404) throw new PodrunError('ENOTFOUND', `${this.description}: ${path.split('/')[0].replace(/s$/, '')} not found (${detail})`);
    if (res.status === 401 || res.status === 403) {
      throw new PodrunError('EREGISTRY', `${this.description}: access denied (${detail})${this.#credentials ? '' : '; no credentials for this registry in auth.json'}`);
    }
    throw new PodrunError('EREGISTRY', `${this.description}: GET ${path} failed: ${detail}`);
  }

  async #fetch(url: string, accept: string): Promise<HttpResponse> {
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'podrun/0.1' };
    if (this.#authorization) headers.Authorization = this.#authorization;
    try {
      return await this.#http.get(url, headers);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code ?? err.message;
      // the chain ends in a CA we do not trust (not an expired or misnamed certificate: its message says that)
      const untrusted = UNTRUSTED_CHAIN.has(err.code ?? '');
      const host = new URL(url).hostname;
      const hint = untrusted
        ? ` (${err.message}: signed by a private CA? name its PEM file in NODE_EXTRA_CA_CERTS)`
        : why === 'ERR_TLS_CERT_ALTNAME_INVALID'
          // the certificate is fine, but for another name: the registry is reached by a name it was not issued for
          ? ` (its TLS certificate is not for the name ${host}: ${err.message.replace(/^Hostname\/IP does not match certificate's altnames: /, '')}; pull it by a name the certificate lists, `
            + 'or have the registry\'s certificate issued for this name; --insecure only for a registry that speaks plain HTTP)'
          : why === 'EPROTO' || /wrong version number|SSL/i.test(err.message) ? ' (plain-HTTP registry? pass --insecure)' : '';
      throw new PodrunError('EREGISTRY', `${this.description}: cannot reach ${new URL(url).host}: ${why}${hint}`, { cause: e });
    }
  }

  async #authenticate(header: string | undefined): Promise<void> {
    const challenge = parseChallenge(header);
    if (!challenge) throw new PodrunError('EREGISTRY', `${this.description}: registry asked for authentication without a usable challenge (${header ?? 'none'})`);
    if (challenge.scheme === 'basic') {
      if (!this.#credentials) throw new PodrunError('EREGISTRY', `${this.description}: registry requires a login; no credentials for ${this.ref.registry} in auth.json`);
      this.#authorization = basicHeader(this.#credentials);
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) throw new PodrunError('EREGISTRY', `${this.description}: bearer challenge without a realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', challenge.params.scope ?? `repository:${this.ref.repository}:pull`);
    const headers: Record<string, string> = { 'User-Agent': 'podrun/0.1' };
    if (this.#credentials) headers.Authorization = basicHeader(this.#credentials);
    let res: HttpResponse;
    try {
      res = await this.#http.get(url.href, headers);
    } catch (e) {
      throw new PodrunError('EREGISTRY', `${this.description}: token service ${url.host} unreachable: ${(e as Error).message}`, { cause: e });
    }
    if (res.status < 200 || res.status >= 300) {
      res.body.resume();
      throw new PodrunError('EREGISTRY', `${this.description}: token service refused (HTTP ${res.status})${this.#credentials ? '' : '; no credentials in auth.json'}`);
    }
    let body: { token?: string; access_token?: string };
    try {
      body = JSON.parse((await readBody(res, MAX_DOCUMENT))?.toString() ?? '') as typeof body;
    } catch {
      throw new PodrunError('EREGISTRY', `${this.description}: token service sent no JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new PodrunError('EREGISTRY', `${this.description}: token service returned no token`);
    this.#authorization = `Bearer ${token}`;
  }

  async #smallBody(res: HttpResponse): Promise<Buffer> {
    const len = Number(res.headers['content-length'] ?? 0);
    if (len > MAX_DOCUMENT) {
      res.body.destroy();
      throw new PodrunError('EREGISTRY', `${this.description}: manifest of ${len} bytes is too large`);
    }
    const data = await readBody(res, MAX_DOCUMENT);
    if (!data) throw new PodrunError('EREGISTRY', `${this.description}: manifest too large`);
    return data;
  }
}

/** The mediaType field of a document, for registries that send no content type. */
function mediaTypeOf(data: Buffer): string {
  try {
    return String((JSON.parse(data.toString()) as { mediaType?: string }).mediaType ?? '');
  } catch {
    return '';
  }
}

function registryErrorText(text: string): string | undefined {
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    return e ? `${e.code ?? ''} ${e.message ?? ''}`.trim() : undefined;
  } catch {
    return undefined;
  }
}
