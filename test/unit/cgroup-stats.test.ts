/** cgroup v2 statistics parsing, on a fake cgroupfs directory. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { oomKills, parseKeyValues, readCgroupStats } from '../../src/cgroup/stats';

function fakeCgroup(t: { teardown(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-cgroup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [f, v] of Object.entries(files)) writeFileSync(path.join(dir, f), v);
  return dir;
}

t.test('parseKeyValues', async (t) => {
  t.same(parseKeyValues('usage_usec 10\nuser_usec 7\n\nbogus\nname text\n'), { usage_usec: 10, user_usec: 7 });
});

t.test('all controllers present', async (t) => {
  const dir = fakeCgroup(t, {
    'cpu.stat': 'usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 500\n',
    'memory.current': '1048576\n',
    'memory.max': '33554432\n',
    'memory.stat': 'anon 4096\nfile 8192\n',
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    'pids.current': '5\n',
    'pids.max': 'max\n',
    'io.stat': '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:0 rbytes=1 wbytes=0 rios=1 wios=0\n',
  });
  t.same(readCgroupStats(dir), {
    unavailable: [],
    cpu: { usage: { total: 3_000_000, kernel: 1_000_000, user: 2_000_000 }, throttling: { periods: 10, throttled_periods: 4, throttled_time: 500_000 } },
    memory: { usage: { usage: 1048576, limit: 33554432 }, raw: { anon: 4096, file: 8192 }, oom_kill: 1 },
    pids: { current: 5, limit: undefined },
    io: { devices: [{ major: 254, minor: 0, rbytes: 4096, wbytes: 8192, rios: 1, wios: 2 }, { major: 8, minor: 0, rbytes: 1, wbytes: 0, rios: 1, wios: 0 }] },
  });
});

t.test('a hybrid host: only the core cpu.stat', async (t) => {
  const dir = fakeCgroup(t, { 'cpu.stat': 'usage_usec 5\nuser_usec 3\nsystem_usec 2\n' });
  const s = readCgroupStats(dir);
  t.same(s.unavailable, ['memory', 'pids', 'io']);
  t.equal(s.cpu?.throttling, undefined, 'no cpu controller: no throttling data');
});

t.test('no cgroup (rootless, none delegated): every controller unavailable, never files of the working directory', async (t) => {
  const cwd = fakeCgroup(t, { 'memory.events': 'oom_kill 7\n', 'memory.current': '1\n', 'cpu.stat': 'usage_usec 1\n' });
  const was = process.cwd();
  process.chdir(cwd);
  t.teardown(() => process.chdir(was));
  t.same(readCgroupStats(''), { unavailable: ['cpu', 'memory', 'pids', 'io'] });
  t.equal(oomKills(''), 0);
});
