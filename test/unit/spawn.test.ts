/** spawnChild: posix_spawn children behave as child_process's (pipes, env, exit, signals, errors) and inherit
 * nothing of ours they should not: no other fd, no ignored signal, no blocked one. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { spawnChild, type SpawnedChild } from '../../src/native/spawn';

function run(child: SpawnedChild): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

t.test('stdin, stdout, stderr, exit code and a whole environment', async (t) => {
  const child = spawnChild('/bin/sh', ['-c', 'cat; echo "$ONLY/$PATH" >&2; exit 3'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ONLY: 'this', PATH: '/bin' } });
  t.ok(child.pid! > 0);
  child.stdin!.end('through stdin');
  const r = await run(child);
  t.same(r, { code: 3, signal: null, out: 'through stdin', err: 'this//bin\n' });
});

t.test('fds beyond 2 as asked, and none of ours besides', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const held = fs.openSync(path.join(dir, 'held'), 'w'); // open in Node: must not reach the child
  t.teardown(() => fs.closeSync(held));
  const child = spawnChild('/bin/sh', ['-c', 'echo via-fd-4 >&4; ls /proc/self/fd'], { stdio: ['ignore', 'pipe', 'ignore', 'ignore', 'pipe'] });
  let viaFour = '';
  child.stdio[4]!.on('data', (d: Buffer) => (viaFour += d.toString()));
  const r = await run(child);
  t.equal(viaFour, 'via-fd-4\n');
  // 0-4 as given, plus the one ls opens to list the directory
  t.same(r.out.trim().split(/\s+/).map(Number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
});

t.test('signal dispositions and mask are the defaults, not Node\'s (SIGPIPE ignored there)', async (t) => {
  const child = spawnChild('/bin/sh', ['-c', 'grep -E "^Sig(Ign|Blk)" /proc/self/status'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const r = await run(child);
  // sh itself ignores nothing at start; what it inherited would show here
  t.match(r.out, /SigBlk:\s+0+\n/);
  t.match(r.out, /SigIgn:\s+0+\n/);
});

t.test('kill goes through the pidfd; close reports the signal', async (t) => {
  const child = spawnChild('/bin/sleep', ['30']);
  const done = run(child);
  t.ok(child.kill('SIGKILL'));
  t.same(await done, { code: null, signal: 'SIGKILL', out: '', err: '' });
  t.notOk(child.kill('SIGKILL'), 'after it was reaped: nothing to signal');
});

t.test('detached: a session of its own', async (t) => {
  const child = spawnChild('/bin/sh', ['-c', 'cut -d" " -f6 /proc/self/stat'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const r = await run(child);
  t.equal(Number(r.out.trim()), child.pid, 'its session id is its pid');
});

t.test('a program that is not there: error, then close', async (t) => {
  const child = spawnChild('/nonexistent/program', [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const error = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
  t.equal(error.code, 'ENOENT');
  await new Promise((resolve) => child.once('close', resolve));
  const relative = spawnChild('bin/sh', []);
  t.equal((await new Promise<NodeJS.ErrnoException>((resolve) => relative.once('error', resolve))).code, 'EINVAL', 'no PATH search: an absolute path only');
});
