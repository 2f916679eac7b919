/** The binary plan framing that native/launch/plan.c decodes. */
import t from 'tap';
import { buildLaunchPlan } from '../../src/oci/build-plan';
import { defaultSpec } from '../../src/oci/default-spec';
import { encodePlan } from '../../src/oci/plan-encode';
import { validateConfig } from '../../src/oci/validate';

function records(buf: Buffer): { tag: number; payload: Buffer }[] {
  const out: { tag: number; payload: Buffer }[] = [];
  for (let off = 0; off < buf.length; ) {
    const tag = buf.readUInt16LE(off);
    const len = buf.readUInt32LE(off + 4);
    out.push({ tag, payload: buf.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }
  return out;
}

t.test('records frame the whole buffer, strings are NUL-terminated', async (t) => {
  const cfg = validateConfig(defaultSpec({ args: ['sh', '-c', 'echo hi'] }));
  const { plan } = buildLaunchPlan(cfg, { bundle: '/b', cgroup: '/sys/fs/cgroup/podrun.slice/x' });
  const recs = records(encodePlan(plan));
  const args = recs.filter((r) => r.tag === 29).map((r) => r.payload.toString());
  t.same(args, ['sh\0', '-c\0', 'echo hi\0']);
  const mounts = recs.filter((r) => r.tag === 10);
  t.equal(mounts.length, cfg.mounts!.length);
  const m0 = mounts[0]!.payload;
  t.same(m0.subarray(20).toString().split('\0'), ['proc', '/proc', 'proc', '', '']);
  const caps = recs.find((r) => r.tag === 20)!.payload;
  t.equal(caps.length, 40);
  t.equal(caps.readBigUInt64LE(0), plan.capabilities!.bounding);
  t.equal(recs.find((r) => r.tag === 5)!.payload.toString(), '/sys/fs/cgroup/podrun.slice/x\0');
});

t.test('a NUL inside a string is refused', async (t) => {
  const cfg = validateConfig(defaultSpec({ args: ['a\0b'] }));
  const { plan } = buildLaunchPlan(cfg, { bundle: '/b' });
  t.throws(() => encodePlan(plan), /contains NUL/);
});

t.test('a mount with recursive options is followed by its attributes (T_MOUNT_ATTR), others are not', async (t) => {
  const cfg = validateConfig(defaultSpec({ args: ['true'] }));
  cfg.mounts = [...cfg.mounts!, { destination: '/v', type: 'bind', source: '/host', options: ['rbind', 'ro', 'rro', 'rnoatime'] }];
  const { plan } = buildLaunchPlan(cfg, { bundle: '/b' });
  const recs = records(encodePlan(plan));
  const attrs = recs.map((r, i) => ({ ...r, i })).filter((r) => r.tag === 43);
  t.equal(attrs.length, 1);
  const before = recs[attrs[0]!.i - 1]!;
  t.equal(before.tag, 10, 'right after its T_MOUNT');
  t.match(before.payload.subarray(20).toString(), /^\/host\0\/v\0/);
  t.equal(attrs[0]!.payload.readBigUInt64LE(0), 0x11n, 'set: RDONLY | NOATIME');
  t.equal(attrs[0]!.payload.readBigUInt64LE(8), 0x70n, 'clear: the access-time field');
});
