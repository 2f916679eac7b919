/** Every launch feature, checked from inside a container as a user would. */
import { mkdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { isRoot, makeBundle, pinnedNamespace, podrunBin, runCmd, runScript, snapshotHost, tempDir, waitFor } from '../helpers';

if (!isRoot) {
  t.plan(0, 'integration tests need root');
} else {
  t.test('stdout, exit code and PATH lookup', async (t) => {
    const r = await runScript(t, 'echo hello; echo oops >&2; exit 3');
    t.equal(r.stdout, 'hello\n');
    t.match(r.stderr, /oops/);
    t.equal(r.code, 3);
  });

  t.test('killed by a signal exits 128+signal', async (t) => {
    // not as pid 1: the init of a pid namespace ignores signals from inside it
    const r = await runScript(t, 'kill -9 $$', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    t.equal(r.code, 137);
  });

  t.test('hostname and domainname', async (t) => {
    const r = await runScript(t, 'hostname; cat /proc/sys/kernel/domainname', (c) => {
      c.hostname = 'box1';
      c.domainname = 'example.test';
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, 'box1\nexample.test\n');
  });

  t.test('capability sets as /proc/self/status shows them', async (t) => {
    const r = await runScript(t, 'grep ^Cap /proc/self/status', (c) => {
      c.process!.capabilities = {
        bounding: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
        effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_KILL'],
        ambient: [],
      };
    });
    t.equal(r.code, 0, r.stderr);
    // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_BIND_SERVICE=10
    t.match(r.stdout, /CapInh:\s+0000000000000020/);
    t.match(r.stdout, /CapPrm:\s+0000000000000420/);
    t.match(r.stdout, /CapEff:\s+0000000000000420/);
    t.match(r.stdout, /CapBnd:\s+0000000000000421/);
    t.match(r.stdout, /CapAmb:\s+0000000000000000/);
  });

  t.test('ambient capabilities survive the switch to a non-root user', async (t) => {
    const caps = ['CAP_NET_BIND_SERVICE'];
    const r = await runScript(t, 'grep -E "^(CapEff|CapAmb)" /proc/self/status; id -u', (c) => {
      c.process!.user = { uid: 1000, gid: 1000 };
      c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /CapEff:\s+0000000000000400/);
    t.match(r.stdout, /CapAmb:\s+0000000000000400/);
    t.match(r.stdout, /^1000$/m);
  });

  t.test('masked paths read empty', async (t) => {
    const r = await runScript(t, 'wc -c < /proc/keys; ls -A /sys/firmware | wc -l; ls -A /proc/acpi | wc -l');
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '0\n0\n0\n');
  });

  t.test('readonly paths and readonly root give EROFS', async (t) => {
    const r = await runScript(t, 'touch /x 2>&1; touch /data/y 2>&1; touch /tmp/ok && echo tmp-ok', (c) => {
      c.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs' }, { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
      c.linux!.readonlyPaths!.push('/data');
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /touch: \/x: Read-only file system/);
    t.match(r.stdout, /touch: \/data\/y: Read-only file system/);
    t.match(r.stdout, /tmp-ok/);
  });

  t.test('seccomp: errnoRet, argument filters, kill action', async (t) => {
    const r = await runScript(t, 'mkdir /tmp/d 2>&1; kill -USR1 $$ 2>&1; kill -0 $$ && echo kill0-ok', (c) => {
      c.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
      c.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        syscalls: [
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 },
          { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
        ],
      };
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /mkdir: can't create directory '\/tmp\/d': Operation not supported/);
    t.match(r.stdout, /Operation not permitted/);
    t.match(r.stdout, /kill0-ok/);

    const killed = await runScript(t, 'uname', (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['uname'], action: 'SCMP_ACT_KILL_PROCESS' }] };
    });
    t.equal(killed.code, 128 + 31, 'SIGSYS');

    const defaultDeny = await runScript(t, 'echo unreachable', (c) => {
      c.process!.noNewPrivileges = false;
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: ['exit_group'], action: 'SCMP_ACT_ALLOW' }] };
    });
    t.equal(defaultDeny.code, 1, 'a podrun error, not a container status');
    t.match(defaultDeny.stderr, /chdir \/: ENOSYS/, 'the first step the profile denied is named');

    const execDenied = await runScript(t, 'echo unreachable', (c) => {
      c.process!.noNewPrivileges = true;
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
    });
    t.equal(execDenied.code, 1);
    t.match(execDenied.stderr, /exec "sh": EACCES \[process\.args\[0\]\]/);
  });

  t.test('rlimits', async (t) => {
    const r = await runScript(t, 'ulimit -n; ulimit -Hn; ulimit -c', (c) => {
      c.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 100, hard: 200 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ];
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '100\n200\n0\n');
  });

  t.test('user, groups, umask, cwd, env', async (t) => {
    const r = await runScript(t, 'grep -E "^(Uid|Gid|Groups)" /proc/self/status; umask; pwd; echo "$FOO"', (c) => {
      c.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 44], umask: 0o027 };
      c.process!.cwd = '/home/user';
      c.process!.env!.push('FOO=bar baz');
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /Uid:\s+1000\s+1000\s+1000\s+1000/);
    t.match(r.stdout, /Gid:\s+1000\s+1000\s+1000\s+1000/);
    t.match(r.stdout, /Groups:\s+5 44/);
    t.match(r.stdout, /^0027$/m);
    t.match(r.stdout, /^\/home\/user$/m);
    t.match(r.stdout, /^bar baz$/m);
  });

  t.test('noNewPrivileges and oomScoreAdj', async (t) => {
    const r = await runScript(t, 'grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj', (c) => {
      c.process!.noNewPrivileges = true;
      c.process!.oomScoreAdj = 500;
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /NoNewPrivs:\s+1/);
    t.match(r.stdout, /^500$/m);
  });

  t.test('default devices, linux.devices and /dev symlinks', async (t) => {
    const r = await runScript(
      t,
      'stat -c "%n %F %t,%T %a %u:%g" /dev/null /dev/zero /dev/tty /dev/mydev /dev/myfifo; echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; for l in fd stdin ptmx; do readlink /dev/$l; done',
      (c) => {
        c.linux!.devices = [
          { type: 'c', path: '/dev/mydev', major: 1, minor: 7, fileMode: 0o600, uid: 1000, gid: 5 },
          { type: 'p', path: '/dev/myfifo', fileMode: 0o640 },
        ];
      },
    );
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /\/dev\/null character special file 1,3 666 0:0/);
    t.match(r.stdout, /\/dev\/zero character special file 1,5 666 0:0/);
    t.match(r.stdout, /\/dev\/tty character special file 5,0 666 0:0/);
    t.match(r.stdout, /\/dev\/mydev character special file 1,7 600 1000:5/);
    t.match(r.stdout, /\/dev\/myfifo fifo 0,0 640 0:0/);
    t.match(r.stdout, /null-ok/);
    t.match(r.stdout, /^4$/m);
    t.match(r.stdout, /\/proc\/self\/fd\n\/proc\/self\/fd\/0\npts\/ptmx/);
  });

  t.test('mounts: bind ro/rw, tmpfs options, proc, sysfs, mqueue, cgroup2, devpts', async (t) => {
    const host = await tempDir(t);
    await writeFile(path.join(host, 'from-host'), 'host data\n');
    const rw = await tempDir(t);
    const r = await runScript(
      t,
      [
        'cat /mnt/ro/from-host',
        'touch /mnt/ro/new 2>&1',
        'echo written > /opt/out',
        'grep " /tmp " /proc/mounts',
        'ls /sys/kernel >/dev/null && echo sysfs-ok',
        'grep -q mqueue /proc/mounts && echo mqueue-ok',
        'test -f /sys/fs/cgroup/cgroup.procs && echo cgroup2-ok',
        'test -c /dev/pts/ptmx && echo devpts-ok',
        'echo $$',
      ].join('; '),
      (c) => {
        c.mounts!.push(
          { destination: '/mnt/ro', type: 'bind', source: host, options: ['rbind', 'ro'] },
          { destination: '/opt', source: rw, options: ['bind', 'rw'] },
          { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'mode=1770'] },
        );
      },
    );
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^host data$/m);
    t.match(r.stdout, /touch: \/mnt\/ro\/new: Read-only file system/);
    t.match(r.stdout, /tmpfs \/tmp tmpfs rw,nosuid,nodev.*size=1024k,mode=1770/);
    t.match(r.stdout, /sysfs-ok\nmqueue-ok\ncgroup2-ok\ndevpts-ok\n1\n/);
    const { readFile } = await import('node:fs/promises');
    t.equal(await readFile(path.join(rw, 'out'), 'utf8'), 'written\n', 'rw bind mount writes through to the host');
  });

  t.test('recursive read-only ("rro"): a read-only bind\'s submounts are read-only too, and cannot be made writable from inside', async (t) => {
    // the volume a pod author gets read-only has a mount below it (a tmpfs here): "ro" alone leaves that writable
    const host = await tempDir(t);
    await mkdir(path.join(host, 'sub'));
    t.equal((await runCmd('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(host, 'sub')])).code, 0);
    t.teardown(async () => void (await runCmd('umount', ['-l', path.join(host, 'sub')])));
    const r = await runScript(
      t,
      [
        'touch /plain/sub/a && echo plain-sub-writable',
        'touch /rec/x 2>&1; touch /rec/sub/b 2>&1',
        'mount -o remount,rw /rec/sub 2>&1; mount -o remount,rw,bind /rec/sub 2>&1; touch /rec/sub/c 2>&1',
        'grep " /rec/sub " /proc/self/mountinfo',
      ].join('; '),
      (c) => {
        c.mounts!.push(
          { destination: '/plain', type: 'bind', source: host, options: ['rbind', 'ro'] },
          { destination: '/rec', type: 'bind', source: host, options: ['rbind', 'ro', 'rro', 'rnoexec'] },
        );
      },
    );
    t.match(r.stdout, /^plain-sub-writable$/m, 'without rro the submount stays writable (the case rro closes)');
    t.match(r.stdout, /touch: \/rec\/x: Read-only file system/);
    t.match(r.stdout, /touch: \/rec\/sub\/b: Read-only file system/);
    t.match(r.stdout, /touch: \/rec\/sub\/c: Read-only file system/, 'a remount from inside (no CAP_SYS_ADMIN) does not undo it');
    t.match(r.stdout, / \/rec\/sub ro,[^ ]*noexec/, 'rnoexec reached the submount too');
    // the attributes are on the container's copies of the mounts: the host's tmpfs is still writable
    t.equal((await runCmd('touch', [path.join(host, 'sub', 'host-still-rw')])).code, 0);
  });

  t.test('device cgroup (BPF): default devices work, the rest and explicit denials do not', async (t) => {
    const r = await runScript(t, 'echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied; mknod /dev/mem c 1 1 && echo mknod-ok; head -c1 /dev/mem 2>&1; echo done', (c) => {
      c.linux!.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 5, access: 'r' }] };
      const caps = ['CAP_MKNOD'];
      c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^null-ok$/m, 'allowed by the defaults');
    t.match(r.stdout, /^mknod-ok$/m, 'mknod is allowed (c *:* m), as with runc');
    t.match(r.stdout, /head: \/dev\/mem: Operation not permitted/, 'opening a device outside the allowed list is denied');
    t.notMatch(r.stdout, /zero-denied/, 'the defaults come after the spec\'s rules, so /dev/zero stays readable (runc semantics)');
  });

  t.test('a long device rule list (a privileged container\'s, as containerd sends it) loads: no verifier log to overflow', async (t) => {
    // one allow rule per host device node, hundreds of them: an 8 KiB verifier log made the load fail with ENOSPC
    const rules = [{ allow: false, access: 'rwm' }, ...Array.from({ length: 600 }, (_, i) => ({ allow: true, type: i % 2 ? 'c' : 'b', major: 1 + (i % 250), minor: i, access: 'rwm' }))];
    // /dev/kmsg (1:11) twice: the last rule allows writing only, so an open for reading is the cgroup's EPERM
    const r = await runScript(t, 'echo x > /dev/null && echo null-ok; (exec 3>/dev/kmsg2) && echo write-open; (exec 3</dev/kmsg2) 2>&1; true', (c) => {
      c.linux!.resources = { devices: [...rules, { allow: true, type: 'c', major: 1, minor: 11, access: 'w' }] };
      c.linux!.devices = [{ path: '/dev/kmsg2', type: 'c', major: 1, minor: 11, fileMode: 0o666 }];
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^null-ok\nwrite-open\n.*\/dev\/kmsg2.*Operation not permitted\n$/, 'the rules are in force: the last allows writing 1:11, not reading; the defaults /dev/null');
  });

  t.test('a mount point missing from the image is created', async (t) => {
    const r = await runScript(t, 'grep " /dev/new/deep " /proc/mounts | cut -d" " -f3', (c) => {
      c.mounts!.push({ destination: '/dev/new/deep', type: 'tmpfs', source: 'tmpfs' });
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, 'tmpfs\n');
  });

  t.test('rootfsPropagation private', async (t) => {
    const r = await runScript(t, 'awk \'$5 == "/"\' /proc/self/mountinfo', (c) => {
      c.linux!.rootfsPropagation = 'private';
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, / \/ ro,/);
    t.notMatch(r.stdout, /shared:|master:/);
  });

  t.test('sysctl in the container namespaces', async (t) => {
    const r = await runScript(t, 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni', (c) => {
      c.linux!.readonlyPaths = c.linux!.readonlyPaths!.filter((p) => p !== '/proc/sys');
      c.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmni': '1234' };
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '1\n1234\n');
  });

  t.test('a new network namespace has lo up (as runc and crun): 127.0.0.1 works', async (t) => {
    const r = await runScript(t, 'cat /sys/class/net/lo/flags; nc -l -p 7000 -e echo hello & sleep 0.2; nc 127.0.0.1 7000 </dev/null', (c) => {
      if (!c.linux!.namespaces!.some((n) => n.type === 'network')) c.linux!.namespaces!.push({ type: 'network' });
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '0x9\nhello\n', 'IFF_UP | IFF_LOOPBACK, and a connection over it');
  });

  t.test('runc spec\'s defaults: ambient capabilities without inheritable ones are skipped, said once; HOME from /etc/passwd, else /', async (t) => {
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    const r = await runScript(t, 'grep CapAmb /proc/self/status; echo "HOME=$HOME"', (c) => {
      c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, ambient: caps }; // exactly runc spec's
      c.process!.env = (c.process!.env ?? []).filter((e) => !e.startsWith('HOME='));
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, 'CapAmb:\t0000000000000000\nHOME=/root\n', "none raised; root's home from the image's /etc/passwd");
    t.match(r.stderr, /process\.capabilities\.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE not raised: an ambient capability must also be permitted and inheritable/);
    const nobody = await runScript(t, 'echo "HOME=$HOME"', (c) => {
      c.process!.user = { uid: 4242, gid: 4242 };
      c.process!.env = (c.process!.env ?? []).filter((e) => !e.startsWith('HOME='));
    });
    t.equal(nobody.stdout, 'HOME=/\n', 'a uid with no passwd entry: /');
    const given = await runScript(t, 'echo "HOME=$HOME"', (c) => {
      c.process!.env = [...(c.process!.env ?? []).filter((e) => !e.startsWith('HOME=')), 'HOME=/mine'];
    });
    t.equal(given.stdout, 'HOME=/mine\n', 'the spec\'s HOME stands');
  });

  t.test('no mount namespace: the container shares ours, with a chroot; its mounts are gone after it (runtime-tools linux_ns_itype)', async (t) => {
    const before = await snapshotHost();
    const own = (await import('node:fs')).readlinkSync('/proc/self/ns/mnt');
    const r = await runScript(t, 'ls /', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'mount');
      c.linux!.maskedPaths = [];
      c.linux!.readonlyPaths = [];
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^bin$/m, 'its root is the bundle rootfs');
    t.match(r.stderr, /warning: linux\.namespaces: no mount namespace: .*chroot/, 'said, not silent');
    t.same(await snapshotHost(), before, 'no mount of it left in ours');
    const inside = await runScript(t, 'readlink /proc/self/ns/mnt', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'mount');
    });
    t.equal(inside.stdout.trim(), own, 'in our mount namespace');
    t.same(await snapshotHost(), before, 'its proc, dev, … mounts removed with it');
  });

  t.test('joins a mount namespace by path (runtime-tools linux_ns_path)', async (t) => {
    const { spawn } = await import('node:child_process');
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--fork', 'sleep', '60'], { stdio: 'ignore' });
    t.teardown(() => { holder.kill('SIGKILL'); });
    const { readlinkSync, readFileSync } = await import('node:fs');
    let nsPath = '';
    await waitFor(async () => {
      const kids = readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim();
      if (!kids) return false;
      nsPath = `/proc/${kids.split(' ')[0]}/ns/mnt`;
      return readlinkSync(nsPath) !== readlinkSync('/proc/self/ns/mnt');
    }, 'the holder in its own mount namespace');
    const want = readlinkSync(nsPath);
    const r = await runScript(t, 'readlink /proc/self/ns/mnt', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'mount' ? { type: 'mount', path: nsPath } : n));
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), want, 'the container is in the joined mount namespace');
  });

  t.test('joins a namespace by path (pinned net ns)', async (t) => {
    const pin = await pinnedNamespace(t, 'net');
    const expected = (await runCmd('nsenter', [`--net=${pin}`, 'readlink', '/proc/self/ns/net'])).stdout;
    const r = await runScript(t, 'readlink /proc/self/ns/net', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: pin } : n));
    });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, expected);
    t.not(r.stdout.trim(), await readlink('/proc/self/ns/net'));
  });

  t.test('user namespace with uid/gid mappings', async (t) => {
    const r = await runScript(t, 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox; echo x > /dev/null && echo dev-ok', (c) => {
      c.linux!.namespaces!.push({ type: 'user' });
      c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^\s+0\s+100000\s+65536\n\s+0\s+100000\s+65536\n0\n65534\ndev-ok\n$/);
  });

  t.test('pid namespace: the process is pid 1; shared host pid ns when not asked', async (t) => {
    const own = await runScript(t, 'echo $$');
    t.equal(own.stdout, '1\n');
    const host = await runScript(t, 'echo $$', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    t.equal(host.code, 0, host.stderr);
    t.not(host.stdout, '1\n');
  });

  t.test('joining another container\'s pid namespace (second fork) sees its processes', async (t) => {
    const { fixtures, uniqueId } = await import('../helpers');
    const { startContainer } = await import('../../src/oci/run');
    const { defaultSpec } = await import('../../src/oci/default-spec');
    const fx = await fixtures();
    const first = await startContainer({ config: defaultSpec({ args: ['sleep', '1000'], rootfs: fx.rootfs }), bundle: '/' }, { id: uniqueId('pidns') });
    t.teardown(async () => {
      first.kill('SIGKILL');
      await first.wait();
    });
    const r = await runScript(t, 'echo $$; ps -o pid,comm | grep -E "^ *1 sleep"', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${first.pid}/ns/pid` } : n));
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^2\n/, 'the joiner is not pid 1 there');
    t.match(r.stdout, /1 sleep/, 'sees the first container\'s init');
  });

  t.test('new user namespace after joining another namespace', async (t) => {
    const pin = await pinnedNamespace(t, 'uts', 'hostname', 'pinned-uts');
    const r = await runScript(t, 'hostname; id -u; cat /proc/self/uid_map', (c) => {
      delete c.hostname;
      c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'uts' ? { type: 'uts', path: pin } : n));
      c.linux!.namespaces!.push({ type: 'user' });
      c.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^pinned-uts\n0\n\s+0\s+200000\s+65536\n$/);
  });

  t.test('time and cgroup namespaces', async (t) => {
    const r = await runScript(t, 'readlink /proc/self/ns/time /proc/self/ns/cgroup; cat /proc/self/cgroup', (c) => {
      c.linux!.namespaces!.push({ type: 'time' });
    });
    t.equal(r.code, 0, r.stderr);
    const [time, cgroup] = r.stdout.split('\n');
    t.not(time, await readlink('/proc/self/ns/time'), 'own time namespace');
    t.not(cgroup, await readlink('/proc/self/ns/cgroup'), 'own cgroup namespace');
    t.match(r.stdout, /^0::\/$/m, 'the cgroup namespace is rooted at the container cgroup');
  });

  t.test('--no-pivot moves the rootfs over / and chroots', async (t) => {
    const { makeBundle, podrunRun } = await import('../helpers');
    const b = await makeBundle(t, 'ls /bin/busybox && cat /etc/passwd | head -1');
    const r = await podrunRun(b, undefined, ['--no-pivot']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '/bin/busybox\nroot:x:0:0:root:/root:/bin/sh\n');
  });

  t.test('per-mount propagation option', async (t) => {
    const src = await tempDir(t);
    const r = await runScript(t, 'awk \'$5 == "/mnt"\' /proc/self/mountinfo', (c) => {
      c.linux!.rootfsPropagation = 'private';
      c.mounts!.push({ destination: '/mnt', type: 'bind', source: src, options: ['rbind', 'rshared'] });
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, / shared:\d+ /);
  });

  t.test('seccomp trap and log actions', async (t) => {
    const trapped = await runScript(t, 'uname', (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['uname'], action: 'SCMP_ACT_TRAP' }] };
    });
    t.equal(trapped.code, 128 + 31, 'SIGSYS from SCMP_ACT_TRAP');
    const logged = await runScript(t, 'uname -s', (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: ['uname'], action: 'SCMP_ACT_LOG' }] };
    });
    t.equal(logged.code, 0, logged.stderr);
    t.equal(logged.stdout, 'Linux\n', 'SCMP_ACT_LOG lets the call through');
  });

  t.test('foreground run with hooks (through create + start), exit code and poststop', async (t) => {
    const dir = await tempDir(t);
    const log = path.join(dir, 'hooks.log');
    const hook = (kind: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${kind} >> ${log}`] });
    const r = await runScript(t, 'echo in-container; exit 9', (c) => {
      c.hooks = { prestart: [hook('prestart')], poststart: [hook('poststart')], poststop: [hook('poststop')] };
    });
    t.equal(r.code, 9, r.stderr);
    t.equal(r.stdout, 'in-container\n');
    const { readFile } = await import('node:fs/promises');
    t.equal(await readFile(log, 'utf8'), 'prestart\npoststart\npoststop\n');
  });

  t.test('--preserve-fds passes extra fds', async (t) => {
    const dir = await tempDir(t);
    const bundle = path.join(dir, 'b');
    await mkdir(bundle);

    const b = await makeBundle(t, 'echo via-fd3 >&3');
    const out = path.join(dir, 'fd3.txt');
    const r = await runCmd('sh', ['-c', `exec 3>${out}; exec "${podrunBin}" oci run --preserve-fds 1 --bundle ${b} pfd-${process.pid}`]);
    t.equal(r.code, 0, r.stderr);
    const { readFile } = await import('node:fs/promises');
    t.equal(await readFile(out, 'utf8'), 'via-fd3\n');
  });
}
