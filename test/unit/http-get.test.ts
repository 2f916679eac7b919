/** The registry's HTTP client: redirects followed, Authorization kept on
 * the same origin and dropped when a redirect leaves it (blob storage would
 * refuse it), bodies capped. Two servers on 127.0.0.1 are two origins. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { HttpClient, readBody } from '../../src/image/sources/http-get';
import type { Teardown } from '../helpers';

async function server(t: Teardown, handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

t.test('redirects: Authorization kept on the origin, dropped off it', async (t) => {
  const seen: Array<[string, string | undefined]> = [];
  const storage = await server(t, (req, res) => {
    seen.push([`storage${req.url}`, req.headers.authorization]);
    res.end('blob bytes');
  });
  const registry = await server(t, (req, res) => {
    seen.push([`registry${req.url}`, req.headers.authorization]);
    if (req.url === '/a') res.writeHead(307, { location: '/b' }).end();
    else if (req.url === '/b') res.writeHead(302, { location: `${storage}/blob?sig=1` }).end();
    else if (req.url === '/loop') res.writeHead(301, { location: '/loop' }).end();
    else res.writeHead(404).end();
  });
  const c = new HttpClient();
  t.teardown(() => c.close());
  const res = await c.get(`${registry}/a`, { Authorization: 'Bearer secret' });
  t.equal(res.status, 200);
  t.equal((await readBody(res, 100))?.toString(), 'blob bytes');
  t.same(seen, [['registry/a', 'Bearer secret'], ['registry/b', 'Bearer secret'], ['storage/blob?sig=1', undefined]]);
  await t.rejects(c.get(`${registry}/loop`, {}), /too many redirects/);
  const big = await c.get(`${storage}/x`, {});
  t.equal(await readBody(big, 4), undefined, 'a body over the cap is refused');
  await t.rejects(c.get('ftp://127.0.0.1/x', {}), /unsupported URL scheme ftp:/);
});
