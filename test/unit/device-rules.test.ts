/** linux.resources.devices → device-cgroup rules. */
import t from 'tap';
import { planDeviceRules } from '../../src/oci/device-rules';

t.test('no rules: no filter', async (t) => {
  t.same(planDeviceRules(undefined, []), []);
  t.same(planDeviceRules([], []), []);
});

t.test('spec rules, then given devices, then the defaults', async (t) => {
  const rules = planDeviceRules(
    [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }],
    [{ type: 'c', major: 10, minor: 229 }, { type: 'p' }],
  );
  t.same(rules.slice(0, 3), [
    { allow: false, type: 0, major: -1, minor: -1, access: 7 },
    { allow: true, type: 1, major: 8, minor: 0, access: 2 },
    { allow: true, type: 2, major: 10, minor: 229, access: 7 },
  ]);
  t.ok(rules.some((r) => r.type === 2 && r.major === 1 && r.minor === 3 && r.allow), '/dev/null is always allowed');
  t.ok(rules.some((r) => r.type === 2 && r.major === 136 && r.minor === -1), '/dev/pts/* too');
});

t.test('bad rules name the field', async (t) => {
  t.throws(() => planDeviceRules([{ allow: true, access: 'rx' }], []), /linux\.resources\.devices\[0\]\.access: must be made of r, w, m/);
  t.throws(() => planDeviceRules([{ access: 'r' }], []), /linux\.resources\.devices\[0\]\.allow: required/);
  t.throws(() => planDeviceRules([{ allow: true, type: 'z' }], []), /\.type: must be a, b or c/);
});

t.test('fewer rules, the same decisions: a privileged container\'s hundreds of allows collapse', async (t) => {
  const hostDevices = Array.from({ length: 800 }, (_, i) => ({ type: i % 2 ? 'c' : 'b', major: 1 + (i % 250), minor: i }));
  t.same(planDeviceRules([{ allow: true, access: 'rwm' }], hostDevices), [], 'allow-all first, then only allows: no filter needed');
  const denyFirst = planDeviceRules([{ allow: false, access: 'rwm' }], hostDevices);
  t.ok(denyFirst.length > 800, 'kept when a deny-all comes first: each allow decides its device');
  // shadowed: a later rule matching all the earlier one matches
  t.same(planDeviceRules([
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 4, minor: 1, access: 'r' },
    { allow: false, type: 'c', major: 4, access: 'rw' },
  ], []).slice(0, 2), [
    { allow: false, type: 0, major: -1, minor: -1, access: 7 },
    { allow: false, type: 2, major: 4, minor: -1, access: 6 },
  ], 'c 4:1 r is decided by the later deny of c 4:* rw');
  const partial = planDeviceRules([
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 4, minor: 1, access: 'rw' },
    { allow: false, type: 'c', major: 4, access: 'r' },
  ], []);
  t.same(partial[1], { allow: true, type: 2, major: 4, minor: 1, access: 6 }, 'not shadowed: the later rule does not cover writing');
});
