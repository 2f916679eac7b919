/** linux.resources.devices → device-cgroup rules (compiled to BPF in C).
 * As runc: the spec's rules, then the devices the container was given, then
 * the defaults every container may use. Last matching rule wins. Pure. */
import { invalidField } from '../errors';

export interface DeviceRule {
  allow: boolean;
  /** 0 any, 1 block, 2 char (BPF_DEVCG_DEV_*) */
  type: 0 | 1 | 2;
  /** -1: any */
  major: number;
  minor: number;
  /** bits: 1 mknod, 2 read, 4 write (BPF_DEVCG_ACC_*) */
  access: number;
}

const ACCESS: Readonly<Record<string, number>> = { m: 1, r: 2, w: 4 };

const char = (major: number, minor: number, access = 7): DeviceRule => ({ allow: true, type: 2, major, minor, access });

/** runc's AllowedDevices */
const DEFAULT_ALLOWED: readonly DeviceRule[] = [
  { allow: true, type: 2, major: -1, minor: -1, access: 1 }, // mknod any char
  { allow: true, type: 1, major: -1, minor: -1, access: 1 }, // mknod any block
  char(1, 3), char(1, 8), char(1, 7), char(5, 0), char(1, 5), char(1, 9), char(5, 1), char(136, -1), char(5, 2), char(10, 200),
];

interface OciDeviceRule {
  allow?: unknown;
  type?: unknown;
  major?: unknown;
  minor?: unknown;
  access?: unknown;
}

function parseRule(r: OciDeviceRule, field: string): DeviceRule {
  if (typeof r.allow !== 'boolean') throw invalidField(`${field}.allow`, 'required (true or false)');
  const t = r.type ?? 'a';
  const type = t === 'a' ? 0 : t === 'b' ? 1 : t === 'c' || t === 'u' ? 2 : undefined;
  if (type === undefined) throw invalidField(`${field}.type`, `must be a, b or c, got ${JSON.stringify(t)}`);
  let access = 0;
  for (const ch of String(r.access ?? 'rwm')) {
    const bit = ACCESS[ch];
    if (!bit) throw invalidField(`${field}.access`, `must be made of r, w, m; got ${JSON.stringify(r.access)}`);
    access |= bit;
  }
  const id = (v: unknown, name: string): number => {
    if (v === undefined || v === null || v === -1) return -1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidField(`${field}.${name}`, 'must be a non-negative integer or -1');
    return v;
  };
  return { allow: r.allow, type, major: id(r.major, 'major'), minor: id(r.minor, 'minor'), access };
}

export function planDeviceRules(rules: unknown, devices: { type: string; major?: number; minor?: number }[] | undefined): DeviceRule[] {
  if (!Array.isArray(rules) || rules.length === 0) return []; // no filter: every device allowed, as cgroup v1 starts
  const out = rules.map((r, i) => parseRule((r ?? {}) as OciDeviceRule, `linux.resources.devices[${i}]`));
  for (const d of devices ?? []) {
    if (d.type === 'p') continue; // fifos are not subject to the device cgroup
    out.push({ allow: true, type: d.type === 'b' ? 1 : 2, major: d.major ?? -1, minor: d.minor ?? -1, access: 7 });
  }
  return withoutRedundantRules([...out, ...DEFAULT_ALLOWED]);
}

const covers = (a: number, b: number): boolean => a === -1 || a === b;
const meets = (a: number, b: number): boolean => a === -1 || b === -1 || a === b;

/** later matches every request earlier matches (a request matches a rule
 * when its access bits are among the rule's) */
function shadows(later: DeviceRule, earlier: DeviceRule): boolean {
  return (later.type === 0 || later.type === earlier.type) && covers(later.major, earlier.major) &&
    covers(later.minor, earlier.minor) && (earlier.access & ~later.access) === 0;
}

function overlap(a: DeviceRule, b: DeviceRule): boolean {
  return (a.type === 0 || b.type === 0 || a.type === b.type) && meets(a.major, b.major) && meets(a.minor, b.minor) && (a.access & b.access) !== 0;
}

/** The same decisions from fewer rules: the verifier's work grows with the
 * square of the rule count, and a privileged container's list (an allow per
 * host device after an allow-all) runs to hundreds. Last match wins and no
 * match allows, so a rule goes when a later one shadows it, and an allow
 * rule goes when no earlier deny could have decided its requests. */
export function withoutRedundantRules(rules: DeviceRule[]): DeviceRule[] {
  const kept = rules.filter((r, i) => !rules.slice(i + 1).some((later) => shadows(later, r)));
  const out: DeviceRule[] = [];
  for (const r of kept) {
    if (r.allow && !out.some((earlier) => !earlier.allow && overlap(earlier, r))) continue;
    out.push(r);
  }
  return out;
}
