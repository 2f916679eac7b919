#!/usr/bin/env bash
# CRI path latency, podrun against Debian's containerd + runc in the same run: `crictl runp` + `create` + `start`
# of a busybox `sleep 3600` (the conformance kit's lat.sh: 1 warm-up + N timed runs, medians), the same three calls
# over one gRPC connection as kubelet makes them (bench/cri-direct.ts), crictl's own cost per call (`crictl version`;
# three calls of it are the crictl figure's floor), then ExecSync
# (`crictl exec -s … true`) and Exec through the streaming server (`crictl exec … true`) round trips; ratios.
#   ANCHORS=/opt/anchors bash bench/cri.sh [N=15]
# By hand (needs the kit's build and images); leaves nothing running.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ANCHORS=${ANCHORS:?set ANCHORS}; N=${1:-15}
kit=${KIT:-$(cd "$repo/../shared/conformance/cri" && pwd)}
NS=cri-anchor
run=/run/podrun-bench-cri
mkdir -p "$run/cni"
cat > "$run/cni/10-bench.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "podrun-bench", "plugins": [
  {"type": "bridge", "bridge": "cnianchor3", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$run/cni-ipam", "ranges": [[{"subnet": "10.244.80.0/24"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
printf 'root: %s/state\ndataRoot: %s/data\ncni: { confDir: %s/cni, binDirs: [/usr/lib/cni] }\nregistries: { configPath: %s/cri/certs.d }\n' "$run" "$run" "$run" "$ANCHORS" > "$run/config.yaml"
ANCHORS=$ANCHORS bash "$kit/anchor-env.sh" up >/dev/null   # containerd + runc (instance "runc")
setsid nsenter --net=/run/netns/$NS "$repo/bin/podrun" cri --listen "unix://$run/cri.sock" --config "$run/config.yaml" > "$run/server.log" 2>&1 < /dev/null &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ANCHORS=$ANCHORS bash "$kit/anchor-env.sh" down >/dev/null || true
  # what the kit's `up` leaves under /run once its daemons are gone (logs, sockets)
  [ -e /run/anchor-containerd/containerd.pid ] || rm -rf /run/anchor-containerd
  [ -e /run/anchor-containerd-registry/registry.pid ] || rm -rf /run/anchor-containerd-registry
  rmdir /sys/fs/cgroup/*/anchor-lat 2>/dev/null || true   # what runc made in the v1 hierarchies for the reference runs
  rm -rf "$run"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$run/cri.sock" ] && break; sleep 0.1; done
crictl=(nsenter --net=/run/netns/$NS "$ANCHORS/cri-tools/build/bin/crictl" --runtime-endpoint "unix://$run/cri.sock")
"${crictl[@]}" pull registry.k8s.io/e2e-test-images/busybox:1.29-2 >/dev/null 2>&1
echo "== containerd 1.6 + runc"
ref=$(ANCHORS=$ANCHORS bash "$kit/lat.sh" /run/anchor-containerd/containerd.sock "$N" ref | tail -1)
echo "$ref"
echo "== podrun cri"
ours=$(ANCHORS=$ANCHORS bash "$kit/lat.sh" "$run/cri.sock" "$N" podrun | tail -1)
echo "$ours"
r=$(echo "$ref" | sed -n 's/.*total \([0-9]*\).*/\1/p'); o=$(echo "$ours" | sed -n 's/.*total \([0-9]*\).*/\1/p')
echo "runp+create+start median: podrun ${o} ms, containerd+runc ${r} ms: $(python3 -c "print(f'{$o/$r:.2f}')")x"

# crictl's own cost per call: `crictl version` (a Version RPC, which either server answers at once) N times each way.
# Three of them are the floor of the crictl figure above whatever the runtime does (issue #16's <= 80 ms is below it).
crictl_floor() {
  python3 - "$N" nsenter --net=/run/netns/$NS "$ANCHORS/cri-tools/build/bin/crictl" --runtime-endpoint "unix://$1" version <<'PY'
import subprocess, sys, time, statistics as st
n, cmd = int(sys.argv[1]), sys.argv[2:]
ts = []
for i in range(n + 1):
    t = time.monotonic(); subprocess.run(cmd, capture_output=True, check=True); ts.append((time.monotonic() - t) * 1000)
print(f"{st.median(ts[1:]):.0f}")
PY
}
fref=$(crictl_floor /run/anchor-containerd/containerd.sock); fours=$(crictl_floor "$run/cri.sock")
echo "crictl's own cost per call (crictl version, median): against podrun ${fours} ms, against containerd ${fref} ms;" \
  "three calls: $((3 * fours)) ms before any runtime work"

# the same three calls over one long-lived connection, as kubelet makes them (no crictl process per call)
direct() { nsenter --net=/run/netns/$NS node "$repo/dist/bench/cri-direct.js" "$1" "$N" "$2" | tail -1; }
dref=$(direct /run/anchor-containerd/containerd.sock dref); dours=$(direct "$run/cri.sock" dpodrun)
echo "== over one gRPC connection: containerd 1.6 + runc: $dref"
echo "== over one gRPC connection: podrun cri: $dours"
r=$(echo "$dref" | sed -n 's/.*total \([0-9]*\).*/\1/p'); o=$(echo "$dours" | sed -n 's/.*total \([0-9]*\).*/\1/p')
echo "runp+create+start median over gRPC: podrun ${o} ms, containerd+runc ${r} ms: $(python3 -c "print(f'{$o/$r:.2f}')")x"

# exec round trips: one running container per runtime, N timed `true`s each way
exec_medians() {  # exec_medians SOCKET → "execsync_ms exec_ms"
  local cr=(nsenter --net=/run/netns/$NS "$ANCHORS/cri-tools/build/bin/crictl" --runtime-endpoint "unix://$1")
  printf '{"metadata":{"name":"ex","namespace":"bench","uid":"ex-%s","attempt":0},"linux":{"cgroup_parent":"anchor-lat"}}' $$ > "$run/p.json"
  printf '{"metadata":{"name":"bb"},"image":{"image":"registry.k8s.io/e2e-test-images/busybox:1.29-2"},"command":["sleep","3600"]}' > "$run/c.json"
  local p c; p=$("${cr[@]}" runp "$run/p.json" 2>/dev/null); c=$("${cr[@]}" create --no-pull "$p" "$run/c.json" "$run/p.json" 2>/dev/null)
  "${cr[@]}" start "$c" >/dev/null 2>&1
  python3 - "$c" "$N" "${cr[@]}" <<'PY'
import subprocess, sys, time, statistics as st
cid, n, cr = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def med(extra):
    ts = []
    for i in range(n + 1):
        t = time.monotonic(); subprocess.run(cr + ['exec'] + extra + [cid, 'true'], capture_output=True, check=True); ts.append((time.monotonic() - t) * 1000)
    return st.median(ts[1:])
print(f"{med(['-s']):.0f} {med([]):.0f}")
PY
  "${cr[@]}" rmp -f "$p" >/dev/null 2>&1 || true
}
read -r rs re < <(exec_medians /run/anchor-containerd/containerd.sock)
read -r os oe < <(exec_medians "$run/cri.sock")
echo "ExecSync round trip median: podrun ${os} ms, containerd+runc ${rs} ms: $(python3 -c "print(f'{$os/$rs:.2f}')")x"
echo "Exec (streaming) round trip median: podrun ${oe} ms, containerd+runc ${re} ms: $(python3 -c "print(f'{$oe/$re:.2f}')")x"
