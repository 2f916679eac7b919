/** OCI lifecycle benchmark: create+start+delete and exec, podrun-oci vs
 * runc in the same run, plus podrun-monitor's memory while a container is
 * created. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { defaultSpec } from '../src/oci/default-spec';
import { benchMain, hyperfine, ms, podrunOci } from './common';

async function inner(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 40);
  const fx = await ensureFixtures();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'podrun-bench-life-'));
  const runcRoot = path.join(dir, 'runc-state');
  const podRoot = path.join(dir, 'podrun-state');
  const runc = `runc --root ${runcRoot}`;
  const pod = `${podrunOci} --root ${podRoot}`;
  try {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(defaultSpec({ args: ['/bin/true'], rootfs: fx.rootfs })));
    const cycle = (cli: string, id: string): string => `sh -c '${cli} create --bundle ${dir} ${id} </dev/null >/dev/null 2>&1 && ${cli} start ${id} && ${cli} delete --force ${id}'`;
    const life = hyperfine({ 'runc create+start+delete': cycle(runc, 'lc-runc'), 'podrun-oci create+start+delete': cycle(pod, 'lc-pod') }, runs);

    // a long-running container for exec, in each runtime
    const sleeper = path.join(dir, 'sleeper');
    execFileSync('mkdir', ['-p', sleeper]);
    writeFileSync(path.join(sleeper, 'config.json'), JSON.stringify(defaultSpec({ args: ['sleep', '100000'], rootfs: fx.rootfs })));
    execFileSync('sh', ['-c', `${runc} run -d --bundle ${sleeper} ex-runc </dev/null >/dev/null 2>&1`]);
    execFileSync('sh', ['-c', `${pod} create --bundle ${sleeper} ex-pod </dev/null >/dev/null 2>&1`]);
    const state = JSON.parse(readFileSync(path.join(podRoot, 'containers', 'ex-pod', 'state.json'), 'utf8')) as { monitorPid: number };
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${state.monitorPid}/status`, 'utf8'))?.[1];
    execFileSync('sh', ['-c', `${pod} start ex-pod`]);
    const ex = hyperfine({ 'runc exec': `${runc} exec ex-runc /bin/true`, 'podrun-oci exec': `${pod} exec ex-pod /bin/true` }, runs);
    execFileSync('sh', ['-c', `${runc} delete --force ex-runc; ${pod} delete --force ex-pod`]);

    const r = life['runc create+start+delete']!;
    const p = life['podrun-oci create+start+delete']!;
    const re = ex['runc exec']!;
    const pe = ex['podrun-oci exec']!;
    process.stdout.write('\npodrun OCI lifecycle benchmark (busybox, same bundle, same run)\n');
    process.stdout.write(`  create+start+delete   runc ${ms(r.mean)} ± ${ms(r.stddev)}   podrun-oci ${ms(p.mean)} ± ${ms(p.stddev)}   ratio ${(p.mean / r.mean).toFixed(2)}×\n`);
    process.stdout.write(`  exec /bin/true        runc ${ms(re.mean)} ± ${ms(re.stddev)}   podrun-oci ${ms(pe.mean)} ± ${ms(pe.stddev)}   ratio ${(pe.mean / re.mean).toFixed(2)}×\n`);
    process.stdout.write(`  podrun-monitor RSS while a container is created: ${rss} KiB (target ≤ 1024)\n`);
  } finally {
    // podrun-oci's warm helper served the creates: stop it with the run
    try {
      process.kill(Number(readFileSync(path.join(podRoot, 'oci-helper.pid'), 'utf8')), 'SIGTERM');
    } catch {
      // none
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

benchMain(__filename, inner);
