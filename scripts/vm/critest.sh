#!/usr/bin/env bash
# By hand, not CI: critest specs that need cgroup v2 controllers this host lacks (the OOM spec), run in the VM
# lane's guest against Debian's containerd with podrun-oci as its runc (the conformance kit's anchor):
#   ANCHORS=/opt/anchors bash scripts/vm-lane.sh -- bash scripts/vm/critest.sh [ginkgo focus regexp] [podrun-cri]
# With podrun-cri the specs run against `podrun cri` itself (scripts/cri/critest.sh) instead.
# The guest runs Debian's kernel, whose modules are not on the host's /lib/modules: link the unpacked package's
# tree there (the overlay is writable) and index it with busybox (the host has no kmod), and make busybox's modprobe
# the kernel's, so the bridge/veth/netfilter modules CNI and iptables need load on demand.
set -euo pipefail
focus=${1:-OOMKilled}
repo=$(pwd)
ANCHORS=${ANCHORS:-/opt/anchors}
kit=${KIT:-$(cd "$repo/../shared/conformance/cri" && pwd)}
kver=$(uname -r)
mods=$(ls -d /var/cache/podrun-vm/linux-image-"$kver"/root/lib/modules/"$kver")
mkdir -p /lib/modules && ln -sfn "$mods" "/lib/modules/$kver"
busybox depmod "$kver"
printf '#!/bin/sh\nexec busybox modprobe "$@"\n' > /run/modprobe && chmod 755 /run/modprobe
echo /run/modprobe > /proc/sys/kernel/modprobe
for m in bridge veth br_netfilter nf_tables nft_compat nf_nat xt_nat xt_MASQUERADE xt_comment xt_mark xt_conntrack \
         xt_addrtype xt_multiport; do
  busybox modprobe "$m" || echo "critest.sh: modprobe $m failed"
done
echo "cgroup: $(stat -f -c %T /sys/fs/cgroup) controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo 1 > /proc/sys/net/ipv4/ip_forward
mkdir -p /run/netns /var/run
export ANCHORS PODRUN_OCI_HELPER=${PODRUN_OCI_HELPER:-1}
if [ "${2:-}" = podrun-cri ]; then
  # overlayfs upper layers cannot live on the guest's root (itself an overlay): the data root on a tmpfs
  # (its parent: critest.sh removes the data root itself when done, which a mount point would refuse)
  mkdir -p /var/lib/podrun-critest-fs && mount -t tmpfs -o size=1g tmpfs /var/lib/podrun-critest-fs
  PODRUN_CRITEST_DATA=/var/lib/podrun-critest-fs/data exec bash "$repo/scripts/cri/critest.sh" -ginkgo.focus "$focus"
fi
# containerd's overlayfs snapshots cannot live on the guest's root (itself an overlay): a tmpfs for this instance
mkdir -p "$ANCHORS/cri/podrun" && mount -t tmpfs -o size=1g tmpfs "$ANCHORS/cri/podrun"
INSTANCE=podrun RUNTIME_BINARY="$repo/build/Release/podrun-oci" bash "$kit/anchor-env.sh" up
set +e
bash "$kit/critest-run" /run/anchor-containerd-podrun/containerd.sock --out /tmp/critest-out --timeout 1200 \
  -- -ginkgo.focus "$focus"
rc=$?
set -e
grep -E 'OOM|oom' /tmp/critest-out/out.txt | head -20 || true
INSTANCE=podrun bash "$kit/anchor-env.sh" down || true
exit $rc
