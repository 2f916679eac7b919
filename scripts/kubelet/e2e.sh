#!/usr/bin/env bash
# By hand, not CI (issue "Kubernetes runs on podrun"): a real kubelet (v1.20.2, standalone: static pods, the
# conformance kit's ../shared/conformance/kubelet) driving `podrun cri`, checked end to end:
#   ANCHORS=/opt/anchors [MEASURE=7] bash scripts/kubelet/e2e.sh
# The kit's three manifests run (web + sidecar over localhost and an emptyDir, an init container first, a failing
# liveness probe restarted with back-off); logs land under /var/log/pods in CRI format; kubelet's /stats/summary
# is filled from podrun's CRI stats; `podrun cri` killed with -9 and restarted under the running kubelet loses
# nothing (same sandboxes and containers, no restarts); a removed manifest's pod is stopped and removed. Everything
# runs in the kit's network namespace; everything started is stopped and removed. Last line: `N passed, N failed`.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
ANCHORS=${ANCHORS:?set ANCHORS}
kit=$(cd "$repo/../shared/conformance" && pwd)
. "$repo/scripts/lib/cri-node.sh"
NS=cri-anchor
run=/run/podrun-kubelet
sock=$run/cri.sock
crictl_quiet() { nsx "$ANCHORS/cri-tools/build/bin/crictl" --runtime-endpoint "unix://$sock" --timeout 30s "$@" 2>/dev/null; }
crictl=(crictl_quiet)
kenv() { CRI_ENDPOINT=unix://$sock ANCHORS=$ANCHORS bash "$kit/kubelet/kubelet-env.sh" "$@"; }
summary() { nsx curl -s -m 10 http://127.0.0.1:10255/stats/summary; }
kpods() { nsx curl -s -m 5 http://127.0.0.1:10255/pods; }
server_pid=
start_server() {
  setsid nsenter --net=/run/netns/$NS "$repo/bin/podrun" cri --config "$run/cri.yaml" >> "$run/server.log" 2>&1 < /dev/null &
  server_pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && "${crictl[@]}" version >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
cleanup() {
  kenv down >/dev/null 2>&1
  for p in $("${crictl[@]}" pods -q 2>/dev/null); do "${crictl[@]}" rmp -f "$p" >/dev/null 2>&1; done
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  NS=$NS ANCHORS=$ANCHORS bash "$kit/cri/anchor-env.sh" down >/dev/null 2>&1
  rm -f "$ANCHORS"/kubelet/run-default/manifests/*.yaml
  local stamp; stamp=$(date -u +%Y%m%dT%H%M%SZ)
  cp "$run/server.log" "$ANCHORS/cri/runs/podrun-kubelet-e2e-$stamp.log" 2>/dev/null
  cp /run/anchor-kubelet/kubelet.log "$ANCHORS/cri/runs/podrun-kubelet-e2e-$stamp.kubelet.log" 2>/dev/null
  rm -rf "$run"
  # what the kit's `down`s keep under /run (their logs, copied above), once nothing of theirs runs
  [ -e /run/anchor-kubelet/kubelet.pid ] || rm -rf /run/anchor-kubelet
  ls /run/anchor-containerd-registry/*.pid >/dev/null 2>&1 || rm -rf /run/anchor-containerd-registry
}
trap cleanup EXIT

write_cri_node_config "$run" podrun-kubelet cnianchor4 10.244.90.0/24 "$sock" "$ANCHORS"
NS=$NS ANCHORS=$ANCHORS bash "$kit/cri/anchor-env.sh" up --no-containerd >/dev/null || { echo "FAIL: the kit's netns and registry"; exit 1; }
check "podrun cri serves its socket in the kit's netns" start_server
check "image pulled through the kit's mirror" "${crictl[@]}" pull registry.k8s.io/e2e-test-images/busybox:1.29-2
check "kubelet v1.20.2 up against podrun cri" kenv up
cp "$kit"/kubelet/manifests/*.yaml "$ANCHORS/kubelet/run-default/manifests/"

t0=$(date +%s%N)
running() { [ "$(kpods | jq '[.items[] | select(.status.phase == "Running")] | length')" = 3 ]; }
for _ in $(seq 120); do running && break; sleep 0.5; done
check "the 3 static pods Running ($(( ($(date +%s%N) - t0) / 1000000 )) ms after the manifests)" running
ready() { [ "$(kpods | jq -r '.items[] | select(.metadata.name | startswith("web-sidecar")) | [.status.containerStatuses[].ready] | all')" = true ]; }
for _ in $(seq 60); do ready && break; sleep 0.5; done
check "web-sidecar: both containers ready" ready
sidecar_log() { ls /var/log/pods/default_web-sidecar-*/sidecar/0.log >/dev/null && grep -q 'stdout F' /var/log/pods/default_web-sidecar-*/sidecar/0.log; }
for _ in $(seq 30); do sidecar_log && break; sleep 0.5; done
check "logs under /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log in CRI format" sidecar_log
check "the sidecar reached the web container over localhost (ok token)" grep -q ' ok token-' /var/log/pods/default_web-sidecar-*/sidecar/0.log
init_first() { [ "$(kpods | jq -r '.items[] | select(.metadata.name | startswith("init-demo")) | .status.initContainerStatuses[0].state.terminated.reason')" = Completed ]; }
check "init-demo: the init container completed before main" init_first
check "init-demo: main saw what init wrote" grep -q 'main sees: init-done' /var/log/pods/default_init-demo-*/main/0.log
restarted() { [ "$(kpods | jq '.items[] | select(.metadata.name | startswith("liveness-fail")) | .status.containerStatuses[0].restartCount')" -ge 1 ]; }
for _ in $(seq 90); do restarted && break; sleep 1; done
check "liveness-fail: restarted by kubelet after failed probes" restarted
stats() { summary | jq -e >/dev/null '[.pods[] | select(.podRef.name | startswith("web-sidecar")) | .containers[] | select(.cpu.usageCoreNanoSeconds > 0)] | length == 2'; }
for _ in $(seq 30); do stats && break; sleep 1; done
check "/stats/summary: web-sidecar's containers with CPU usage from podrun's CRI stats" stats
check "/stats/summary: the pods' ephemeral storage (writable layers) reported" sh -c "$(declare -f nsx summary); summary | jq -e '[.pods[] | select(.podRef.name | startswith(\"web-sidecar\")) | .containers[].rootfs.usedBytes] | all(. != null)'"

# podrun cri dies (kill -9) and comes back under the running kubelet: nothing lost, nothing restarted
# (liveness-fail's container is restarted by kubelet all along: its ids change by design)
steady='[.containers[] | select(.state == "CONTAINER_RUNNING") | select(.labels["io.kubernetes.pod.name"] | startswith("liveness-fail") | not) | .id] | sort | join(",")'
before=$("${crictl[@]}" ps -o json | jq -r "$steady")
sbefore=$("${crictl[@]}" pods -o json | jq -r '[.items[] | .id] | sort | join(",")')
restarts_before=$(kpods | jq '[.items[] | select(.metadata.name | startswith("web-sidecar")) | .status.containerStatuses[].restartCount] | add')
kill -9 "$server_pid"; sleep 3
check "podrun cri restarted after kill -9" start_server
sleep 15
after=$("${crictl[@]}" ps -o json | jq -r "$steady")
safter=$("${crictl[@]}" pods -o json | jq -r '[.items[] | .id] | sort | join(",")')
check "the same sandboxes after the restart" test "$sbefore" = "$safter"
check "every container that ran (web, sidecar, main) still runs, with its id ($(tr -cd , <<<"$before" | wc -c | awk '{print $1+1}'))" test -n "$before" -a "$before" = "$after"
check "web-sidecar not restarted by the server's restart" test "$(kpods | jq '[.items[] | select(.metadata.name | startswith("web-sidecar")) | .status.containerStatuses[].restartCount] | add')" = "$restarts_before"
check "kubelet still healthy" test "$(kenv status | grep -o 'healthz: ok')" = "healthz: ok"

# a removed manifest: kubelet stops and removes its pod through podrun
rm "$ANCHORS/kubelet/run-default/manifests/init-demo.yaml"
gone() { ! "${crictl[@]}" pods --name init-demo -q | grep -q .; }
for _ in $(seq 60); do gone && break; sleep 1; done
check "a removed manifest's pod stopped and removed" gone
# MEASURE=N: the kit's measure.sh (manifest in → all containers Running, removal → stopped), N runs on podrun
if [ -n "${MEASURE:-}" ]; then
  CRI_ENDPOINT=unix://$sock ANCHORS=$ANCHORS N=$MEASURE bash "$kit/kubelet/measure.sh" 2>&1 | tail -4
  # kubelet's own share, from its log: the manifest's pod seen (SyncLoop ADD) → the runtime first asked for its
  # sandbox ("No sandbox for pod … Need to start a new one"). No CRI call happens in between, so this is a floor of
  # measure.sh's figure whatever the runtime does (v1.20's volume manager checks the pod's mounts every 300 ms).
  python3 - /run/anchor-kubelet/kubelet.log <<'PY'
import re, sys, statistics as st
from datetime import datetime
def when(line):
    return datetime.strptime(line[1:5] + ' ' + line[6:21], '%m%d %H:%M:%S.%f')
added, asked = {}, {}
for line in open(sys.argv[1], errors='replace'):
    m = re.search(r'SyncLoop \(ADD, "file"\): "(web-sidecar-m-[^"]*)"', line)
    if m: added.setdefault(m.group(1), when(line))
    m = re.search(r'No sandbox for pod "(web-sidecar-m-[^"]*)" can be found', line)
    if m: asked.setdefault(m.group(1), when(line))
ms = [(asked[p] - added[p]).total_seconds() * 1000 for p in added if p in asked]
if ms:
    print(f"kubelet alone, pod seen → sandbox asked for: median {st.median(ms):.0f} ms (range {min(ms):.0f}-{max(ms):.0f}, n={len(ms)})")
PY
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
