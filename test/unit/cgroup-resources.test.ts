/** linux.resources → cgroup v2 files, and applying them to a fake cgroupfs. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { applyResources } from '../../src/cgroup/apply';
import { blkioToIoWeight, mapResources, sharesToWeight } from '../../src/cgroup/resources';

t.test('conversions match runc', async (t) => {
  t.equal(sharesToWeight(1024), 39);
  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(blkioToIoWeight(500), 4950);
});

t.test('mapping of every supported resource', async (t) => {
  const { writes, unmappable } = mapResources({
    cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
    memory: { limit: 67108864, reservation: 33554432, swap: 134217728, kernel: 1 },
    pids: { limit: 64 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
    unified: { 'memory.high': '50000000' },
    devices: [{ allow: false, access: 'rwm' }],
  });
  const m = Object.fromEntries(writes.map((w) => [w.file === 'io.max' ? `io.max ${w.value.split(' ')[0]}` : w.file, w.value]));
  t.same(m, {
    'cpu.weight': '39',
    'cpu.max': '50000 100000',
    'cpuset.cpus': '0-1',
    'cpuset.mems': '0',
    'memory.max': '67108864',
    'memory.low': '33554432',
    'memory.swap.max': String(134217728 - 67108864),
    'pids.max': '64',
    'io.weight': 'default 4950',
    'io.max 8:0': '8:0 rbps=1048576',
    'hugetlb.2MB.max': '4194304',
    'memory.high': '50000000',
  });
  t.same(unmappable.map((u) => u.field), ['linux.resources.memory.kernel']);
  t.same(mapResources({ memory: { limit: -1, swap: -1 }, pids: { limit: 0 }, cpu: { quota: -1 } }).writes.map((w) => `${w.file}=${w.value}`), [
    'cpu.max=max 100000', 'memory.max=max', 'memory.swap.max=max', 'pids.max=max',
  ]);
  t.same(mapResources({ memory: { limit: 100, swap: 50 } }).unmappable[0]?.reason, 'memory+swap (50) is below memory.limit (100)');
});

function fakeTree(t: { teardown(fn: () => void): void }, offered: string): { mount: string; leaf: string } {
  const mount = mkdtempSync(path.join(os.tmpdir(), 'fake-cgroupfs-'));
  t.teardown(() => rmSync(mount, { recursive: true, force: true }));
  const slice = path.join(mount, 'podrun.slice');
  const leaf = path.join(slice, 'c1');
  mkdirSync(leaf, { recursive: true });
  // a real kernel fills a child's cgroup.controllers from the parent's subtree_control; the fake starts them as offered
  for (const d of [mount, slice, leaf]) {
    writeFileSync(path.join(d, 'cgroup.controllers'), offered);
    writeFileSync(path.join(d, 'cgroup.subtree_control'), '');
  }
  return { mount, leaf };
}

t.test('apply where controllers are offered: subtree_control top-down, files written', async (t) => {
  const { mount, leaf } = fakeTree(t, 'cpu memory pids');
  const { writes, unmappable } = mapResources({ memory: { limit: 1 << 26 }, pids: { limit: 10 }, cpu: { shares: 512 } });
  const r = applyResources(mount, leaf, writes, unmappable);
  t.same(r.notEnforced, []);
  t.equal(readFileSync(path.join(leaf, 'memory.max'), 'utf8'), String(1 << 26));
  t.equal(readFileSync(path.join(leaf, 'pids.max'), 'utf8'), '10');
  t.equal(readFileSync(path.join(leaf, 'cpu.weight'), 'utf8'), String(sharesToWeight(512)));
  for (const d of [mount, path.join(mount, 'podrun.slice')]) t.equal(readFileSync(path.join(d, 'cgroup.subtree_control'), 'utf8'), '+pids', 'controllers enabled at every level above the leaf (the fake keeps the last write)');
  t.equal(readFileSync(path.join(leaf, 'cgroup.subtree_control'), 'utf8'), '', 'not in the leaf itself');
});

t.test('a hybrid host: every limit reported, nothing written', async (t) => {
  const { mount, leaf } = fakeTree(t, 'hugetlb');
  const { writes, unmappable } = mapResources({ memory: { limit: 1 << 26 }, pids: { limit: 10 }, hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] });
  const r = applyResources(mount, leaf, writes, unmappable);
  t.same(r.notEnforced, [
    "linux.resources.memory.limit: not enforced: this host's cgroup v2 offers no memory controller here",
    "linux.resources.pids.limit: not enforced: this host's cgroup v2 offers no pids controller here",
  ]);
  t.same(r.applied.map((w) => w.file), ['hugetlb.2MB.max']);
});
