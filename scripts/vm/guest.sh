#!/bin/sh
# Runs in the VM on the host's tree (overlaid): a unified cgroup2 hierarchy
# with every controller, then the enforcement tests; results go to the
# shared /podrun-vm-results (exit code, tap output), then power off.
repo=$1
out=/podrun-vm-results
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run  # not /tmp: the repo may live there (the overlay is writable anyway)
mount -t cgroup2 cgroup2 /sys/fs/cgroup
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NO_COLOR=1 HOME=/root PODRUN_VM=1
cd "$repo" || { echo "guest: no repo at $repo" > "$out/tap.txt"; echo 1 > "$out/rc"; echo o > /proc/sysrq-trigger; }
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)" > "$out/tap.txt"
if [ -f "$out/cmd" ]; then
  bash "$out/cmd" >> "$out/tap.txt" 2>&1  # scripts/vm-lane.sh -- CMD… (quoted by printf %q)
else
  node node_modules/.bin/tap --disable-coverage --reporter=tap --timeout=900 dist/test/vm/*.test.js >> "$out/tap.txt" 2>&1
fi
echo $? > "$out/rc"
sync
echo o > /proc/sysrq-trigger
sleep 10
