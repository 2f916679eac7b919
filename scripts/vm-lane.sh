#!/usr/bin/env bash
# The cgroup v2 enforcement lane (`npm run test:vm`). This host's cgroup2
# offers no cpu/memory/pids controllers, so the tests in test/vm run in a
# VM: Debian's own kernel (downloaded, never installed: installing it would
# touch the host's /boot) under qemu-system-x86_64 with TCG, booted with
# cgroup_no_v1=all, on the host root shared read-only over 9p with a tmpfs
# overlay. Kernel, vmlinux and initramfs are cached in $PODRUN_VM_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${PODRUN_VM_CACHE:-/var/cache/podrun-vm}
mkdir -p "$cache"

need=()
for p in qemu-system-x86 busybox-static xz-utils python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
[ -f dist/cli.js ] || scripts/setup.sh --no-example

# the kernel package linux-image-amd64 currently points at, unpacked (not installed)
pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
[ -n "$pkg" ] || { apt-get update -q; pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1); }
kver=${pkg#linux-image-}
kdir="$cache/$pkg"
if [ ! -f "$kdir/vmlinux" ]; then
  echo "vm-lane: fetching $pkg (download only)"
  rm -rf "$kdir" && mkdir -p "$kdir"
  (cd "$kdir" && apt-get download "$pkg" 2>/dev/null && dpkg-deb -x ./*.deb root && rm -f ./*.deb)
  # boot the uncompressed kernel (PVH entry): decompressing under TCG costs seconds per boot
  python3 - "$kdir/root/boot/vmlinuz-$kver" "$kdir/payload" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
setup = d[0x1f1] or 4
off, length = struct.unpack_from('<II', d, 0x248)
start = (setup + 1) * 512 + off
open(sys.argv[2], 'wb').write(d[start:start + length])
PY
  head -c 6 "$kdir/payload" | od -An -tx1 | grep -q 'fd 37 7a 58 5a 00' || { echo "vm-lane: kernel payload is not xz"; exit 1; }
  xz -dc < "$kdir/payload" > "$kdir/vmlinux" 2>/dev/null || true  # trailing padding after the stream is fine
  rm -f "$kdir/payload"
  [ -s "$kdir/vmlinux" ] || { echo "vm-lane: could not extract vmlinux"; exit 1; }
fi

# initramfs: busybox, init, and the modules (with their dependencies, in order)
initrd="$cache/initramfs-$kver-$(cat scripts/vm/init | sha256sum | cut -c1-12).cpio"
if [ ! -f "$initrd" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/bin" "$work/modules"
  cp /bin/busybox "$work/bin/busybox"
  cp scripts/vm/init "$work/init"
  moddir="$kdir/root/lib/modules/$kver/kernel"
  python3 - "$moddir" "$work/modules" virtio_pci 9p overlay virtio_blk > "$work/modules.order" <<'PY'
import os, re, shutil, sys
root, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
paths = {}
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith('.ko'):
            paths[f[:-3].replace('-', '_')] = os.path.join(d, f)
order = []
def deps(name):
    data = open(paths[name], 'rb').read()
    m = re.search(rb'depends=([^\0]*)', data)
    return [x.decode().replace('-', '_') for x in m.group(1).split(b',') if x] if m else []
def visit(name):
    if name in order or name not in paths: return
    for d in deps(name): visit(d)
    order.append(name)
for w in wanted + ['9pnet_virtio']: visit(w)
for n in order:
    shutil.copy(paths[n], os.path.join(dest, n + '.ko'))
    print(n + '.ko')
PY
  (cd "$work" && find . | busybox cpio -o -H newc > "$initrd" 2>/dev/null)
fi

results=$(mktemp -d)
# `scripts/vm-lane.sh -- CMD…` runs CMD in the guest (in the repo) instead of the tests
if [ "${1:-}" = "--" ]; then shift; printf '%q ' "$@" > "$results/cmd"; fi
disk="$results/disk.img"
truncate -s 64M "$disk"
echo "vm-lane: booting $kver under TCG (test output follows when the VM is done)"
start=$(date +%s)
set +e
timeout 1500 qemu-system-x86_64 -accel tcg -m 3072 -smp 2 -nographic -no-reboot \
  -kernel "$kdir/vmlinux" -initrd "$initrd" \
  -append "console=ttyS0 loglevel=1 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 rdinit=/init podrun.repo=$repo" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$results,mount_tag=results,security_model=none" \
  -drive "file=$disk,format=raw,if=virtio" \
  > "$results/console.log" 2>&1
qrc=$?
set -e
cat "$results/tap.txt" 2>/dev/null || { echo "vm-lane: no test output; console:"; tail -40 "$results/console.log"; }
rc=$(cat "$results/rc" 2>/dev/null || echo 1)
echo "vm-lane: qemu exit $qrc, tests exit $rc, $(( $(date +%s) - start )) s"
rm -rf "$results"
exit "$rc"
