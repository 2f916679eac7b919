/** OCI seccomp → libseccomp rule records. libseccomp action values are the
 * kernel's SECCOMP_RET_* ABI; C compiles the rules to BPF in the parent. */
import { invalidField } from '../errors';
import type { OciSeccomp } from './spec-schema';

const EPERM = 1;

export interface SeccompRule {
  name: string;
  action: number;
  args: { index: number; op: number; value: bigint; value2: bigint }[];
}

export interface SeccompPlan {
  defaultAction: number;
  flags: number;
  architectures: string[];
  rules: SeccompRule[];
}

const SIMPLE_ACTIONS: Readonly<Record<string, number>> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};

export function seccompAction(name: string, errnoRet: number | undefined, field: string): number {
  const simple = SIMPLE_ACTIONS[name];
  if (simple !== undefined) return simple;
  const ret = (errnoRet ?? EPERM) & 0xffff;
  if (name === 'SCMP_ACT_ERRNO') return (0x00050000 | ret) >>> 0;
  if (name === 'SCMP_ACT_TRACE') return (0x7ff00000 | ret) >>> 0;
  if (name === 'SCMP_ACT_NOTIFY') throw invalidField(field, 'SCMP_ACT_NOTIFY (seccomp user notification) is not supported yet');
  throw invalidField(field, `unknown seccomp action ${JSON.stringify(name)}`);
}

const OPS: Readonly<Record<string, number>> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

const FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

/** OCI `SCMP_ARCH_X86_64` → libseccomp's `x86_64`. */
const ARCHES: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86: 'x86', SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X32: 'x32', SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64', SCMP_ARCH_MIPS: 'mips', SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32', SCMP_ARCH_MIPSEL: 'mipsel', SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32', SCMP_ARCH_PPC: 'ppc', SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le', SCMP_ARCH_S390: 's390', SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc', SCMP_ARCH_PARISC64: 'parisc64', SCMP_ARCH_RISCV64: 'riscv64',
};

export function buildSeccompPlan(sc: OciSeccomp, field = 'linux.seccomp'): SeccompPlan {
  if (sc.listenerPath) throw invalidField(`${field}.listenerPath`, 'seccomp user notification is not supported yet');
  const defaultAction = seccompAction(sc.defaultAction, sc.defaultErrnoRet, `${field}.defaultAction`);
  let flags = 0;
  (sc.flags ?? []).forEach((f, i) => {
    const v = FLAGS[f];
    if (v === undefined) throw invalidField(`${field}.flags[${i}]`, `unknown seccomp flag ${JSON.stringify(f)}`);
    flags |= v;
  });
  const architectures = (sc.architectures ?? []).map((a, i) => {
    const v = ARCHES[a];
    if (!v) throw invalidField(`${field}.architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}`);
    return v;
  });
  const rules: SeccompRule[] = [];
  (sc.syscalls ?? []).forEach((call, ci) => {
    const at = `${field}.syscalls[${ci}]`;
    const action = seccompAction(call.action, call.errnoRet, `${at}.action`);
    const args = (call.args ?? []).map((a, ai) => {
      const op = OPS[a.op];
      if (op === undefined) throw invalidField(`${at}.args[${ai}].op`, `unknown operator ${JSON.stringify(a.op)}`);
      return { index: a.index, op, value: BigInt(a.value), value2: BigInt(a.valueTwo ?? 0) };
    });
    // libseccomp cannot AND two comparisons of one argument in a rule;
    // like runc, such a list means one rule per comparison (OR).
    const indexes = new Set(args.map((a) => a.index));
    const argSets = indexes.size < args.length ? args.map((a) => [a]) : [args];
    for (const name of call.names) for (const set of argSets) rules.push({ name, action, args: set });
  });
  return { defaultAction, flags, architectures, rules };
}
