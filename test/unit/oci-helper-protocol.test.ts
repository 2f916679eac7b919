/** The warm helper's wire format and its reading of runc's create argv (src/cli/oci-helper.ts). */
import t from 'tap';
import { NetstringReader, netstrings, parseCreateArgv, parseExecArgv } from '../../src/cli/oci-helper';

t.test('netstrings: binary-safe, split anywhere', async (t) => {
  const wire = netstrings('3', 'spawn', 'a\tb\nc', '');
  t.equal(wire.toString(), '1:3,5:spawn,5:a\tb\nc,0:,');
  const r = new NetstringReader();
  const got: string[] = [];
  for (const byte of wire) got.push(...r.push(Buffer.from([byte])));
  t.same(got, ['3', 'spawn', 'a\tb\nc', '']);
  t.same(new NetstringReader().push(Buffer.from('2:é')), [], 'a length counts bytes (é is 2): waits for the comma');
  t.same(new NetstringReader().push(netstrings('é')), ['é']);
  t.throws(() => new NetstringReader().push(Buffer.from('3:abc;')), /bad netstring/);
});

t.test('create argv as runc takes it, paths against the caller\'s directory', async (t) => {
  t.same(parseCreateArgv(['--root', 'state', '--log=/l', '--log-format', 'json', 'create', '-b', 'b', '--pid-file=p', '--console-socket', 's', '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c1'], '/work'), {
    globals: { root: '/work/state', log: '/l', logFormat: 'json' },
    id: 'c1', bundle: '/work/b', pidFile: '/work/p', consoleSocket: '/work/s', noPivot: true, preserveFds: 2, containerLog: undefined, strictLimits: false,
  });
  t.equal(parseCreateArgv(['create', 'c1'], '/w')?.bundle, '/w', 'the bundle defaults to the directory');
  t.equal(parseCreateArgv(['create', 'c1'], '/w')?.globals.root, '/run/podrun');
  for (const argv of [['create'], ['create', 'a', 'b'], ['create', '--unknown', 'c'], ['--systemd-cgroup', 'create', 'c'], ['start', 'c'], ['create', '--preserve-fds', 'x', 'c'], ['--log-format', 'yaml', 'create', 'c']]) {
    t.equal(parseCreateArgv(argv, '/'), undefined, `${argv.join(' ')}: left to the CLI`);
  }
});

t.test('exec argv: options before the id, the command after it, as the CLI reads it', async (t) => {
  t.same(parseExecArgv(['--root', 'r', 'exec', '-e', 'A=1', '--env=B=2', '-u', '10:20', '-g', '5', '--cap', 'CAP_KILL', '--no-new-privs', '-d', '--pid-file', 'p', '--preserve-fds', '1', 'c1', 'sh', '-c', 'echo -e x'], '/w'), {
    globals: { root: '/w/r', log: undefined, logFormat: 'text' },
    id: 'c1',
    options: { env: ['A=1', 'B=2'], user: { uid: 10, gid: 20 }, additionalGids: [5], addCapabilities: ['CAP_KILL'], noNewPrivileges: true, detach: true, pidFile: '/w/p', preserveFds: 1, args: ['sh', '-c', 'echo -e x'] },
  });
  t.equal(parseExecArgv(['exec', '-p', 'proc.json', 'c1'], '/w')?.options.processFile, '/w/proc.json');
  t.equal(parseExecArgv(['exec', '-t', 'c1', 'sh'], '/'), undefined, 'a terminal without --console-socket: the CLI proxies it');
  t.equal(parseExecArgv(['exec', '-t', '--console-socket', 's', 'c1', 'sh'], '/w')?.options.consoleSocket, '/w/s');
  for (const argv of [['exec'], ['exec', '--unknown', 'c'], ['exec', '-u', 'root', 'c', 'true'], ['create', 'c']]) {
    t.equal(parseExecArgv(argv, '/'), undefined, `${argv.join(' ')}: left to the CLI`);
  }
});
