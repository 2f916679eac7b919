/** GET over node:http/https for the registry client: redirects followed
 * (Authorization dropped when they leave the origin, as fetch does: blob
 * redirects go to storage that would refuse it), keep-alive within one
 * provider, the body left as a stream. Node's global fetch would do, but
 * loading undici costs a CLI ~50 ms before the first byte. */
import fs from 'node:fs';
import type http from 'node:http';
import type https from 'node:https';

/** node:http or node:https for a URL's protocol, loaded on first use (the CLI
 * is one bundle, and most commands never speak HTTP); undefined for others. */
function moduleFor(protocol: string): typeof http | typeof https | undefined {
  if (protocol === 'https:') return require('node:https') as typeof https;
  if (protocol === 'http:') return require('node:http') as typeof http;
  return undefined;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

export interface HttpClientOptions {
  /** a PEM file of CAs trusted beside Node's own; by default what bin/podrun
   * kept from node's start-up (PODRUN_EXTRA_CA_CERTS, the user's NODE_EXTRA_CA_CERTS) */
  extraCaFile?: string;
}

export class HttpClient {
  #agents = new Map<string, http.Agent>();
  readonly #extraCaFile: string | undefined;

  constructor(opts: HttpClientOptions = { extraCaFile: process.env.PODRUN_EXTRA_CA_CERTS || undefined }) {
    this.#extraCaFile = opts.extraCaFile;
  }

  #agent(protocol: string, mod: typeof http | typeof https): http.Agent {
    let a = this.#agents.get(protocol);
    if (!a) {
      const ca = protocol === 'https:' ? this.#trustedCas() : undefined;
      a = new mod.Agent({ keepAlive: true, ...(ca && { ca }) });
      this.#agents.set(protocol, a);
    }
    return a;
  }

  /** Node's root store plus the extra file, or undefined for Node's default */
  #trustedCas(): string[] | undefined {
    const file = this.#extraCaFile;
    if (!file) return undefined;
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`extra CA certificates ${file} (NODE_EXTRA_CA_CERTS): ${(err as Error).message}`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`extra CA certificates ${file} (NODE_EXTRA_CA_CERTS): no PEM certificate in it`);
    // node:tls loads crypto: only a client about to speak TLS pays for it
    const tls = require('node:tls') as typeof import('node:tls');
    return [...tls.rootCertificates, pem];
  }

  async get(url: string, headers: Record<string, string>, redirects = 5): Promise<HttpResponse> {
    const u = new URL(url);
    const mod = moduleFor(u.protocol);
    if (!mod) throw new Error(`unsupported URL scheme ${u.protocol}`);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.get(u, { headers, agent: this.#agent(u.protocol, mod) }, resolve);
      req.on('error', reject);
    });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location) {
      res.resume();
      if (redirects === 0) throw new Error(`too many redirects (last to ${location})`);
      const next = new URL(location, u);
      const { Authorization: _dropped, ...rest } = headers;
      return this.get(next.href, next.origin === u.origin ? headers : rest, redirects - 1);
    }
    return { status, headers: res.headers, body: res };
  }

  close(): void {
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
  }
}

/** The whole body, refusing more than `max` bytes. */
export async function readBody(res: HttpResponse, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
