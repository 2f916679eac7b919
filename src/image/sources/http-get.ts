/** GET over node:http/https for the registry client: redirects followed
 * (Authorization dropped when they leave the origin, as fetch does: blob
 * redirects go to storage that would refuse it), keep-alive within one
 * provider, the body left as a stream. Node's global fetch would do, but
 * loading undici costs a CLI ~50 ms before the first byte. */
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

export class HttpClient {
  #agents = new Map<string, http.Agent>();

  #agent(protocol: string, mod: typeof http | typeof https): http.Agent {
    let a = this.#agents.get(protocol);
    if (!a) {
      a = new mod.Agent({ keepAlive: true });
      this.#agents.set(protocol, a);
    }
    return a;
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
