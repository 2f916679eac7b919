/** `podrun` run by an ordinary user: re-run it inside the user's own user + mount namespace (made with its pause
 * process the first time, joined after; native/rootless/rootless_ns.c), where podrun is root over the user's ids.
 * Loaded by bin/podrun before the CLI itself; nothing here needs privileges. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorPath } from '../native';
import { rootlessRunDir, subIdRange } from '../util/rootless';

const SUBID_HELPERS = ['newuidmap', 'newgidmap'];

function onPath(cmd: string): boolean {
  return (process.env.PATH || '/usr/bin:/bin').split(':').some((d) => d && fs.existsSync(path.join(d, cmd)));
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** `--map UIDSTART:GIDSTART:COUNT` when the user has /etc/subuid and /etc/subgid ranges and the setuid helpers
 * exist; else nothing: the namespace then has the user's own id alone (said when an image needs more). */
export function subIdMapArgs(user: string, uid: number, gid: number, subuid: string, subgid: string, helpers: boolean): string[] {
  const u = subIdRange(subuid, user, uid);
  const g = subIdRange(subgid, user, gid);
  if (!u || !g || !helpers) return [];
  return ['--map', `${u.start}:${g.start}:${Math.min(u.count, g.count)}`];
}

/** The user's podrun runtime directory, made 0700 and checked to be the user's alone. */
function ownRunDir(uid: number): string {
  const dir = rootlessRunDir(process.env, uid);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    process.stderr.write(`podrun: rootless: ${dir} must be a directory of yours that only you can write (set XDG_RUNTIME_DIR)\n`);
    process.exit(125);
  }
  return dir;
}

export function reenter(bin: string, argv: string[]): void {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const user = os.userInfo().username;
  const map = subIdMapArgs(user, uid, gid, readText('/etc/subuid'), readText('/etc/subgid'), SUBID_HELPERS.every(onPath));
  const dir = path.join(ownRunDir(uid), 'userns');
  const child = spawn(monitorPath(), ['rootless', dir, ...map, '--', process.execPath, bin, ...argv.slice(2)], { stdio: 'inherit' });
  // ^C from the terminal reaches the child in our process group itself; other signals sent to us are passed on
  process.on('SIGINT', () => undefined);
  for (const s of ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) process.on(s, () => child.kill(s));
  child.on('error', (e) => {
    process.stderr.write(`podrun: rootless: ${e.message}\n`);
    process.exit(125);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
}
