/** Launch benchmark: `podrun oci run`, the library `run()` and the C-only
 * `podrun-monitor run` against `runc run` on the same busybox /bin/true
 * bundle, measured in the same run; plus CLI start-up against `node -e 0`.
 *
 * runc on a hybrid host would use the v1 hierarchies, which must not be
 * touched here; so everything runs in a private mount namespace where the
 * cgroup2 mount is bound over /sys/fs/cgroup (runc then uses cgroup v2). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { buildLaunchPlan } from '../src/oci/build-plan';
import { defaultSpec } from '../src/oci/default-spec';
import { encodePlan } from '../src/oci/plan-encode';
import { run } from '../src/oci/run';
import { validateConfig } from '../src/oci/validate';
import { benchMain, hyperfine, monitor, ms, podrun } from './common';

async function libraryRuns(bundle: string, n: number): Promise<{ mean: number; stddev: number; median: number }> {
  const times: number[] = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = process.hrtime.bigint();
    const r = await run(bundle, { id: 'bench-lib' });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`library run exited ${r.status}`);
    if (i >= 5) times.push(dt);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const stddev = Math.sqrt(times.reduce((a, b) => a + (b - mean) ** 2, 0) / times.length);
  return { mean, stddev, median: times[Math.floor(times.length / 2)]! };
}

async function inner(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 60);
  const fx = await ensureFixtures();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'podrun-bench-'));
  try {
    const config = defaultSpec({ args: ['/bin/true'], rootfs: fx.rootfs });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    // the C-only path: same plan, no cgroup (the monitor does not make one)
    const { plan } = buildLaunchPlan(validateConfig(config), { bundle: dir });
    writeFileSync(path.join(dir, 'plan.bin'), encodePlan(plan));

    const h = hyperfine(
      {
        'runc run': `runc --root ${dir}/runc-state run --bundle ${dir} bench-runc`,
        'podrun oci run': `${podrun} oci run --bundle ${dir} bench-cli`,
        'podrun-monitor run (C only)': `${monitor} run ${dir}/plan.bin`,
        'node -e 0': 'node -e 0',
        'podrun --version': `${podrun} --version`,
      },
      runs,
    );
    const lib = await libraryRuns(dir, runs);
    const runc = h['runc run']!;
    const node0 = h['node -e 0']!;
    const rows: [string, number, number, string][] = [
      ['runc run', runc.mean, runc.stddev, '1.00× (anchor)'],
      ['podrun library run()', lib.mean, lib.stddev, `${(lib.mean / runc.mean).toFixed(2)}× runc (target ≤ 1.0)`],
      ['podrun oci run (CLI)', h['podrun oci run']!.mean, h['podrun oci run']!.stddev, `${(h['podrun oci run']!.mean / runc.mean).toFixed(2)}× runc`],
      ['podrun-monitor run (C only)', h['podrun-monitor run (C only)']!.mean, h['podrun-monitor run (C only)']!.stddev, `${(h['podrun-monitor run (C only)']!.mean / runc.mean).toFixed(2)}× runc`],
      ['node -e 0', node0.mean, node0.stddev, ''],
      ['podrun --version', h['podrun --version']!.mean, h['podrun --version']!.stddev, `node -e 0 + ${ms(h['podrun --version']!.mean - node0.mean)} (target ≤ +10 ms)`],
    ];
    process.stdout.write('\npodrun launch benchmark (busybox /bin/true, same bundle, same run)\n');
    for (const [name, mean, sd, note] of rows) process.stdout.write(`  ${name.padEnd(30)} ${ms(mean).padStart(10)} ± ${ms(sd).padEnd(9)} ${note}\n`);
    const overNode = h['podrun oci run']!.mean - node0.mean;
    process.stdout.write(`  podrun oci run = node -e 0 + ${ms(overNode)} (the library run() inside it: ${ms(lib.mean)})\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

benchMain(__filename, inner);
