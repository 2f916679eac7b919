#!/usr/bin/env bash
# By hand, not CI: critest (the conformance kit's build, ../shared/conformance/cri) against `podrun cri`, offline.
#   ANCHORS=/opt/anchors bash scripts/cri/critest.sh [extra critest/ginkgo args, e.g. -ginkgo.focus REGEXP]
# Starts the kit's netns + local registry (anchor-env.sh up --no-containerd), then `podrun cri` in that netns with
# its own state root, data root, CNI network (bridge cnianchor2, 10.244.79.0/24) and the kit's hosts.toml mirrors,
# runs critest-run against it and stops and removes everything it started (the server's log is kept in
# $ANCHORS/cri/runs). Second to last line: `PASSED n / RAN m`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
ANCHORS=${ANCHORS:?set ANCHORS}
kit=${KIT:-$(cd "$repo/../shared/conformance/cri" && pwd)}
. "$repo/scripts/lib/cri-node.sh"
NS=cri-anchor
run=/run/podrun-critest
data=${PODRUN_CRITEST_DATA:-/var/lib/podrun-critest}
mkdir -p "$data"
write_cni_bridge_conflist "$run" podrun-critest cnianchor2 10.244.79.0/24
cat > "$run/config.yaml" <<YAML
listen: unix://$run/cri.sock
root: $run/state
dataRoot: $data
cni: { confDir: $run/cni, binDirs: [/usr/lib/cni] }
registries: { configPath: $ANCHORS/cri/certs.d }
YAML
NS=$NS ANCHORS=$ANCHORS bash "$kit/anchor-env.sh" up --no-containerd >/dev/null
setsid nsenter --net=/run/netns/$NS "$repo/bin/podrun" cri --config "$run/config.yaml" > "$run/server.log" 2>&1 < /dev/null &
pid=$!
echo $pid > "$run/server.pid"
for _ in $(seq 100); do [ -S "$run/cri.sock" ] && break; sleep 0.1; done
set +e
ANCHORS=$ANCHORS bash "$kit/critest-run" "$run/cri.sock" --netns $NS ${1+-- "$@"}
rc=$?
set -e
crictl=(nsenter --net=/run/netns/$NS "$ANCHORS/cri-tools/build/bin/crictl" --runtime-endpoint "unix://$run/cri.sock" --timeout 30s)
for p in $("${crictl[@]}" pods -q 2>/dev/null); do "${crictl[@]}" rmp -f "$p" >/dev/null 2>&1 || true; done
kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
NS=$NS ANCHORS=$ANCHORS bash "$kit/anchor-env.sh" down >/dev/null || true
[ -e /run/anchor-containerd-registry/registry.pid ] || rm -rf /run/anchor-containerd-registry  # the kit's leftovers
log=$ANCHORS/cri/runs/podrun-cri-$(date -u +%Y%m%dT%H%M%SZ).log
cp "$run/server.log" "$log"
rm -rf "$run" "$data"
echo "server log: $log"
exit $rc
