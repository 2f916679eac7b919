/** The warm helper's wire format and its reading of runc's create argv (src/cli/oci-helper.ts). */
import t from 'tap';
import { NetstringReader, netstrings, parseCreateArgv } from '../../src/cli/oci-helper';

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
