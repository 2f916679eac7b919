/** A real registry for tests: Debian's docker-registry on 127.0.0.1 with a
 * temp storage dir, optionally behind htpasswd basic auth or bearer tokens
 * from a token server run here (RS256 JWTs signed with a throwaway
 * certificate the registry trusts), optionally over TLS with a certificate
 * from a throwaway CA. Stopped and removed at teardown. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestRegistry {
  /** host:port */
  host: string;
  user?: string;
  password?: string;
  /** an auth.json with the credentials */
  authFile?: string;
  /** with TLS: the PEM of the CA that signed the registry's certificate */
  caFile?: string;
  /** push an OCI layout (all its images with --all) as host/repo:tag (async:
   * the token server runs in this process) */
  push(layout: string, ref: string, opts?: { all?: boolean; srcRef?: string }): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

function execFileAsync(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stderr }));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

function tokenServer(dir: string, user: string, password: string): Promise<{ url: string; server: http.Server; certFile: string }> {
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=podrun-test-token'], { stdio: 'pipe' });
  const key = createPrivateKey(fs.readFileSync(keyFile));
  const der = new X509Certificate(fs.readFileSync(certFile)).raw;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const ok = auth === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    if (!ok) {
      res.writeHead(401).end('{"details":"bad credentials"}');
      return;
    }
    const scope = url.searchParams.get('scope') ?? '';
    const [type, name, actions] = scope.split(':');
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = {
      iss: 'podrun-test-issuer', sub: user, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: String(Math.random()),
      access: type ? [{ type, name, actions: (actions ?? '').split(',') }] : [],
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`, server, certFile })));
}

/** A CA, and a certificate for 127.0.0.1 it signed: [caFile, certFile, keyFile] */
function tlsCertificate(dir: string): [string, string, string] {
  const f = (n: string): string => path.join(dir, n);
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=podrun-test-ca');
  ossl('req', ...ec, '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('tls.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ossl('x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('tls.crt'), '-days', '1', '-extfile', f('tls.ext'));
  return [f('ca.crt'), f('tls.crt'), f('tls.key')];
}

/** the HTTP status of GET url, trusting ca */
function status(url: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

export async function startRegistry(t: Teardown, dir: string, auth: 'none' | 'basic' | 'token' = 'none', opts: { tls?: boolean } = {}): Promise<TestRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const user = 'podrun';
  const password = 'test-secret';
  let authYaml = '';
  let tokens: http.Server | undefined;
  if (auth === 'basic') {
    fs.writeFileSync(path.join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', user, password]));
    authYaml = `auth:\n  htpasswd:\n    realm: podrun-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  } else if (auth === 'token') {
    const ts = await tokenServer(dir, user, password);
    tokens = ts.server;
    authYaml = `auth:\n  token:\n    realm: ${ts.url}\n    service: podrun-test-registry\n    issuer: podrun-test-issuer\n    rootcertbundle: ${ts.certFile}\n`;
  }
  const [caFile, certFile, keyFile] = opts.tls ? tlsCertificate(dir) : [];
  const tlsYaml = opts.tls ? `  tls:\n    certificate: ${certFile}\n    key: ${keyFile}\n` : '';
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'storage')}\nhttp:\n  addr: ${host}\n${tlsYaml}${authYaml}`);
  // --pdeathsig: the registry dies with the test process even when tap kills it on a timeout
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', 'docker-registry', 'serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    tokens?.close();
  });
  for (let i = 0; ; i++) {
    try {
      const code = await status(`${opts.tls ? 'https' : 'http'}://${host}/v2/`, caFile && fs.readFileSync(caFile, 'utf8'));
      if (code === 200 || code === 401) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || i > 200) throw new Error(`docker-registry did not start: ${stderr}`);
    await sleep(25);
  }
  const authFile = auth === 'none' ? undefined : path.join(dir, 'auth.json');
  if (authFile) fs.writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
  return {
    host,
    user: auth === 'none' ? undefined : user,
    password: auth === 'none' ? undefined : password,
    authFile,
    caFile,
    async push(layout, ref, opts = {}) {
      const args = ['copy', '-q', '--dest-tls-verify=false'];
      if (opts.all) args.push('--all');
      if (authFile) args.push('--dest-creds', `${user}:${password}`);
      const r = await execFileAsync('skopeo', [...args, `oci:${layout}${opts.srcRef ? `:${opts.srcRef}` : ''}`, `docker://${host}/${ref}`]);
      if (r.code !== 0) throw new Error(`skopeo copy to ${ref}: ${r.stderr}`);
    },
  };
}
