/** An ordinary user for rootless podrun, made as root by the tests and the rootless bench: `useradd` (with Debian's
 * /etc/subuid range, or without it), a cgroup v2 subtree delegated to it, the package bind-mounted read-only where it
 * can be reached, a private XDG_RUNTIME_DIR. `command` gives the argv that runs something as the user; `remove`
 * undoes all of it: the user's processes (pause processes, conmon), the package mount, the cgroups, the user. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CGROUP2 = '/sys/fs/cgroup/unified';

export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** the package, where the user can reach it */
  pkg: string;
  /** a directory of the test's (0755) holding pkg/ and xdg/ */
  top: string;
  runDir: string;
  /** the user's first subordinate uid/gid (null: none) */
  subuid: number | null;
  subgid: number | null;
  /** its delegated cgroup */
  cgroup: string;
  /** argv running `args` as the user (env -i: HOME, PATH with the package's bin first, XDG_RUNTIME_DIR), moved into
   * the delegated cgroup first unless `delegated: false`; `wrap`: a command (as root) that runs the rest */
  command(args: string[], o?: { delegated?: boolean; wrap?: string[] }): string[];
  /** a file of the user's in its runtime dir */
  file(name: string, text: string): string;
  /** the pause process keeping the user's podrun namespace, if any */
  pausePid(): number | null;
  /** SIGKILL every process of the user, then remove the mount, the cgroups, the user and its files */
  remove(): void;
}

const firstRange = (file: string, name: string): number | null => {
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[1]) : null;
};

/** Rewrite the user's lines of /etc/subuid and /etc/subgid: `keep` maps each (its range) to what stands instead. */
function editSubIds(name: string, keep: (line: string) => string[]): void {
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').split('\n').flatMap((l) => (l.startsWith(`${name}:`) ? keep(l) : [l])).join('\n'));
  }
}

/** `prefix` names the user (and its cgroup, podrun-test-NAME); `repo` is the package to bind. `subids`: the ranges
 * useradd gives, by name; 'by-uid': the same ranges named by the user's uid, after a malformed line of the user's (as
 * newuidmap reads them: podrun must find the valid one); false: none, the user's own id only. */
export function makeRootlessUser(o: { prefix: string; subids: boolean | 'by-uid'; repo: string }): RootlessUser {
  const name = `${o.prefix}${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  execFileSync('useradd', ['-m', '-s', '/bin/sh', name]);
  const uid = Number(execFileSync('id', ['-u', name]).toString());
  // useradd gave the user ranges (the same start for uid and gid here)
  if (!o.subids) editSubIds(name, () => []);
  else if (o.subids === 'by-uid') editSubIds(name, (l) => [`${name}:notanumber:65536`, l.replace(`${name}:`, `${uid}:`)]);
  const gid = Number(execFileSync('id', ['-g', name]).toString());
  const home = `/home/${name}`;
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-rootless-'));
  fs.chmodSync(top, 0o755);
  const pkg = path.join(top, 'pkg');
  fs.mkdirSync(pkg);
  // the bind shares the checkout's own directory, whose mode then decides (a CI clone may sit in a 0700 temp dir)
  const repoMode = fs.statSync(o.repo).mode & 0o7777;
  if ((repoMode & 0o005) !== 0o005) fs.chmodSync(o.repo, repoMode | 0o005);
  execFileSync('mount', ['--bind', '-o', 'ro', o.repo, pkg]);
  const runDir = path.join(top, 'xdg');
  fs.mkdirSync(runDir, { mode: 0o700 });
  fs.chownSync(runDir, uid, gid);
  const cgroup = path.join(CGROUP2, `podrun-test-${name}`);
  fs.mkdirSync(cgroup);
  execFileSync('chown', ['-R', `${uid}:${gid}`, cgroup]);
  const envs = [`HOME=${home}`, `PATH=${pkg}/bin:/usr/bin:/bin:/usr/sbin:/sbin`, `XDG_RUNTIME_DIR=${runDir}`, 'LANG=C.UTF-8'];
  const user: RootlessUser = {
    name, uid, gid, home, pkg, top, runDir, cgroup,
    subuid: firstRange('/etc/subuid', o.subids === 'by-uid' ? String(uid) : name), subgid: firstRange('/etc/subgid', o.subids === 'by-uid' ? String(uid) : name),
    command(args, co = {}) {
      const into = co.delegated === false ? '' : `echo $$ > ${cgroup}/cgroup.procs && `;
      return [...(co.wrap ?? []), 'sh', '-c', `${into}exec setpriv --reuid=${uid} --regid=${gid} --init-groups -- env -i ${envs.join(' ')} "$@"`, 'sh', ...args];
    },
    file(n, text) {
      const f = path.join(runDir, n);
      fs.writeFileSync(f, text);
      fs.chownSync(f, uid, gid);
      return f;
    },
    pausePid() {
      try {
        const pid = Number(fs.readFileSync(path.join(runDir, 'podrun', 'userns', 'pause.pid'), 'utf8').split(' ')[0]);
        return fs.existsSync(`/proc/${pid}`) ? pid : null;
      } catch {
        return null;
      }
    },
    remove() {
      spawnSync('sh', ['-c', `for p in $(ps -u ${uid} -o pid=); do kill -9 $p; done; sleep 0.3`]);
      spawnSync('umount', ['-l', pkg]);
      fs.chmodSync(o.repo, repoMode);
      removeCgroupTree(cgroup);
      spawnSync('userdel', ['-r', '-f', name], { stdio: 'ignore' });
      // userdel removes the lines naming the user, not those naming its uid
      for (const f of ['/etc/subuid', '/etc/subgid']) fs.writeFileSync(f, fs.readFileSync(f, 'utf8').split('\n').filter((l) => !l.startsWith(`${uid}:`) && !l.startsWith(`${name}:`)).join('\n'));
      fs.rmSync(top, { recursive: true, force: true });
    },
  };
  return user;
}

/** rmdir a cgroup tree bottom-up, killing what is still in it. */
export function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch {
      fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
      execFileSync('sleep', ['0.02']);
    }
  }
}
