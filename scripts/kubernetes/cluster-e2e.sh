#!/usr/bin/env bash
# By hand, not CI (issue "Kubernetes runs on podrun"): a one-node Kubernetes cluster whose only container runtime is
# podrun, started, checked end to end with kubectl, and removed:
#   ANCHORS=/opt/anchors bash scripts/kubernetes/cluster-e2e.sh            # KEEP=1: leave it up (then `down`)
#   ANCHORS=/opt/anchors bash scripts/kubernetes/cluster-e2e.sh down
# Needs: the conformance kit's netns + registry (../shared/conformance/cri/anchor-env.sh) and kubelet
# (../shared/conformance/kubelet/build-kubelet.sh), and scripts/kubernetes/build-control-plane.sh's binaries:
# etcd 3.4 and kubectl 1.20 from Debian, kube-apiserver, kube-scheduler, kube-controller-manager v1.20.2.
# Everything runs in the kit's network namespace (never the host's): etcd, the API server (TLS, x509 clients, RBAC +
# Node authorization, NodeRestriction), scheduler and controller manager on its loopback; the node's address on a
# address of the netns' loopback; kubelet registered as node `podrun-node` with `podrun cri` as its runtime (CRI v1alpha2) and
# Debian's CNI plugins (bridge + host-local + portmap). kubelet and `podrun cri` share one private mount namespace,
# as they share the host's on a real node (kubelet's tmpfs for service-account tokens must be what podrun binds),
# which keeps the kubelet's sysctl stand-ins (see the kit's kubelet-env.sh) out of the host.
# Checks, printed one per line, end with `N passed, N failed`.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
ANCHORS=${ANCHORS:?set ANCHORS}
kit=$(cd "$repo/../shared/conformance" && pwd)
. "$repo/scripts/lib/cri-node.sh"
NS=cri-anchor
NODE=podrun-node
NODE_IP=10.99.0.1
POD_SUBNET=10.244.91.0/24
run=/run/podrun-k8s
# the checks run some commands in `sh -c` with these functions' bodies (declare -f): the variables they read
export ANCHORS NS run DEB sock pki
C=$ANCHORS/cluster
DEB=$C/deb/root/usr/bin
KUBELET=$ANCHORS/kubelet/bin/kubelet
sock=$run/cri.sock
# in the node's mount namespace (kubelet's and podrun's) and network namespace
nodex() { nsenter --mount=/proc/$(cat $run/holder.pid)/ns/mnt --net=/run/netns/$NS "$@"; }
kc() { nsx "$DEB/kubectl" --kubeconfig "$run/pki/admin.kubeconfig" --request-timeout 30s "$@"; }
crictl() { nodex "$ANCHORS/cri-tools/build/bin/crictl" --runtime-endpoint "unix://$sock" --timeout 30s "$@"; }
alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }
spawn() { # spawn NAME EXE ARGS... — detached, in the netns (and the node's mount namespace once it exists)
  local name=$1; shift
  if [ -f "$run/holder.pid" ]; then
    setsid nsenter --mount=/proc/$(cat $run/holder.pid)/ns/mnt --net=/run/netns/$NS "$@" >> "$run/$name.log" 2>&1 < /dev/null &
  else
    setsid nsenter --net=/run/netns/$NS "$@" >> "$run/$name.log" 2>&1 < /dev/null &
  fi
  echo $! > "$run/$name.pid"
}
stop() { # stop NAME — TERM by pid, KILL after 10 s
  alive "$1" || return 0
  local pid; pid=$(cat "$run/$1.pid"); kill "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}
until_ok() { # until_ok SECONDS command... — until it succeeds
  local n=$1; shift
  for _ in $(seq $((n * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

down() {
  echo "down: $(date -u +%T) ${FUNCNAME[*]}" >&2
  alive kubelet && kc delete deployment --all --wait=false >/dev/null 2>&1
  stop kubelet
  if alive podrun-cri; then
    for p in $(crictl pods -q 2>/dev/null); do crictl stopp "$p" >/dev/null 2>&1; crictl rmp -f "$p" >/dev/null 2>&1; done
  fi
  for d in podrun-cri kube-controller-manager kube-scheduler kube-apiserver etcd holder; do stop "$d"; done
  nsx ip link del cnik8s0 2>/dev/null
  NS=$NS ANCHORS=$ANCHORS bash "$kit/cri/anchor-env.sh" down >/dev/null 2>&1
  if [ -d "$run" ]; then
    local stamp; stamp=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$ANCHORS/cluster/runs/$stamp" && cp "$run"/*.log "$ANCHORS/cluster/runs/$stamp/" 2>/dev/null
  fi
  rm -rf "$run"
  if [ -f /run/podrun-k8s.log-dirs-before ]; then
    for d in $(ls /var/log/pods 2>/dev/null | grep -vxF -f /run/podrun-k8s.log-dirs-before); do rm -rf "/var/log/pods/$d"; done
    rm -f /run/podrun-k8s.log-dirs-before
  fi
  if [ -f /run/podrun-k8s.created-dirs ]; then
    while read -r d; do rm -f "$d/device-plugins/kubelet.sock" "$d/device-plugins/DEPRECATION" 2>/dev/null; rmdir "$d/device-plugins" "$d" 2>/dev/null; done < /run/podrun-k8s.created-dirs
    rm -f /run/podrun-k8s.created-dirs
  fi
  [ -e /run/anchor-kubelet/kubelet.pid ] || rm -rf /run/anchor-kubelet
  ls /run/anchor-containerd-registry/*.pid >/dev/null 2>&1 || rm -rf /run/anchor-containerd-registry
}
if [ "${1:-}" = down ]; then down; exit 0; fi
for b in "$C/bin/kube-apiserver" "$C/bin/kube-scheduler" "$C/bin/kube-controller-manager" "$DEB/etcd" "$DEB/kubectl" "$KUBELET"; do
  [ -x "$b" ] || { echo "missing $b (scripts/kubernetes/build-control-plane.sh, the kit's build-kubelet.sh)" >&2; exit 1; }
done
[ -e "$run" ] && { echo "$run exists: a cluster is up (bash $0 down)" >&2; exit 1; }
[ -n "${KEEP:-}" ] || trap down EXIT
mkdir -p "$run/pki" "$run/cni" "$run/kubelet"
# kubelet 1.20 hard-codes /var/lib/kubelet/device-plugins and /var/log/pods: `down` removes what it had to make
for d in /var/lib/kubelet /var/log/pods; do [ -e "$d" ] || echo "$d" >> /run/podrun-k8s.created-dirs; done
# and the pod log directories it leaves when stopped before its garbage collection: those not there before
ls /var/log/pods > /run/podrun-k8s.log-dirs-before 2>/dev/null || true

# --- PKI: one CA; the API server's serving cert; x509 client certs (the user is the CN, groups the O) ---
pki=$run/pki
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=podrun-k8s-ca -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
cert() { # cert NAME SUBJECT [SANS]
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  printf '%s\n' "${3:+subjectAltName=$3}" "extendedKeyUsage=serverAuth,clientAuth" > "$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
cert apiserver /CN=kube-apiserver "IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=admin"
cert controller-manager /CN=system:kube-controller-manager
cert scheduler /CN=system:kube-scheduler
cert kubelet "/O=system:nodes/CN=system:node:$NODE" "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null && openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
kubeconfig() { # kubeconfig NAME
  cat > "$pki/$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: podrun, cluster: {server: "https://127.0.0.1:6443", certificate-authority: $pki/ca.crt}}]
users: [{name: $1, user: {client-certificate: $pki/$1.crt, client-key: $pki/$1.key}}]
contexts: [{name: $1, context: {cluster: podrun, user: $1}}]
current-context: $1
YAML
}
for k in admin controller-manager scheduler kubelet; do kubeconfig $k; done

# --- the network namespace (the kit's, with its registry mirror) and the node's address ---
NS=$NS ANCHORS=$ANCHORS bash "$kit/cri/anchor-env.sh" up --no-containerd >/dev/null || { echo "FAIL: the kit's netns and registry"; exit 1; }
nsx ip addr add $NODE_IP/32 dev lo

# --- the node's mount namespace: kubelet's sysctl stand-ins (the kit's kubelet-env.sh: never write the host's) ---
declare -A WANT=([vm/overcommit_memory]=1 [vm/panic_on_oom]=0 [kernel/panic]=10 [kernel/panic_on_oops]=1
                 [kernel/keys/root_maxkeys]=1000000 [kernel/keys/root_maxbytes]=25000000)
binds=""
for k in "${!WANT[@]}"; do
  [ "$(cat /proc/sys/$k)" = "${WANT[$k]}" ] && continue
  f=$run/sysctl.${k//\//.}; echo "${WANT[$k]}" > "$f"
  binds+="mount --bind $f /proc/sys/$k && mount -o remount,bind,ro /proc/sys/$k && "
done
setsid unshare --mount --propagation slave sh -c "${binds}exec sleep infinity" > "$run/holder.log" 2>&1 < /dev/null &
echo $! > "$run/holder.pid"
until_ok 5 sh -c "[ \"\$(readlink /proc/$(cat $run/holder.pid)/exe)\" = \"$(readlink -f "$(command -v sleep)")\" ]"

t_start=$(date +%s%N)
# --- etcd, API server, controller manager, scheduler ---
spawn etcd "$DEB/etcd" --name podrun-k8s --data-dir "$run/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster podrun-k8s=http://127.0.0.1:2380 --log-level warn
check "etcd 3.4 (Debian etcd-server) answers" until_ok 20 nsx "$DEB/etcdctl" --endpoints http://127.0.0.1:2379 endpoint health
spawn kube-apiserver "$C/bin/kube-apiserver" --etcd-servers http://127.0.0.1:2379 --advertise-address $NODE_IP --bind-address 0.0.0.0 \
  --secure-port 6443 --insecure-port 0 --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range 10.96.0.0/24 --allow-privileged \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP --kubelet-certificate-authority "$pki/ca.crt" --v 1
check "kube-apiserver v1.20.2 ready (TLS, x509 clients, RBAC + Node authorization)" until_ok 60 sh -c "$(declare -f nsx kc); kc get --raw /readyz | grep -qx ok"
spawn kube-controller-manager "$C/bin/kube-controller-manager" --kubeconfig "$pki/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$pki/controller-manager.kubeconfig" --authorization-kubeconfig "$pki/controller-manager.kubeconfig" \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" --use-service-account-credentials \
  --leader-elect=false --bind-address 127.0.0.1 --port 0 --secure-port 10257 --v 1
spawn kube-scheduler "$C/bin/kube-scheduler" --kubeconfig "$pki/scheduler.kubeconfig" \
  --authentication-kubeconfig "$pki/scheduler.kubeconfig" --authorization-kubeconfig "$pki/scheduler.kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --port 0 --secure-port 10259 --v 1
check "kube-controller-manager and kube-scheduler healthy" until_ok 60 sh -c "nsenter --net=/run/netns/$NS curl -sk https://127.0.0.1:10257/healthz | grep -qx ok && nsenter --net=/run/netns/$NS curl -sk https://127.0.0.1:10259/healthz | grep -qx ok"

# --- podrun cri: the node's runtime, with Debian's CNI plugins ---
write_cri_node_config "$run" podrun-k8s cnik8s0 "$POD_SUBNET" "$sock" "$ANCHORS"
spawn podrun-cri "$repo/bin/podrun" cri --config "$run/cri.yaml"
check "podrun cri serves its socket (CRI v1alpha2 for kubelet 1.20)" until_ok 20 crictl version

# --- kubelet, registered as the node ---
cat > "$run/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
cgroupRoot: ""
failSwapOn: false
evictionHard: {}
evictionSoft: {}
protectKernelDefaults: true
makeIPTablesUtilChains: false
oomScoreAdj: 0
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
containerLogMaxSize: 1Mi
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
YAML
spawn kubelet "$KUBELET" --config "$run/kubelet/config.yaml" --kubeconfig "$pki/kubelet.kubeconfig" --root-dir "$run/kubelet/root" \
  --container-runtime remote --container-runtime-endpoint "unix://$sock" --image-service-endpoint "unix://$sock" \
  --cert-dir "$run/kubelet/pki" --seccomp-profile-root "$run/kubelet/seccomp" --hostname-override $NODE --node-ip $NODE_IP --v 2
node_ready() { [ "$(kc get node $NODE -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "node $NODE registered by kubelet v1.20.2 and Ready (podrun cri: runtime and network ready)" until_ok 90 node_ready
check "the node reports podrun as its container runtime" sh -c "$(declare -f nsx kc); kc get node $NODE -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}' | grep -q '^podrun://'"
echo "cluster up in $(( ($(date +%s%N) - t_start) / 1000000 )) ms"

# --- a Deployment ---
cat > "$run/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: registry.k8s.io/e2e-test-images/busybox:1.29-2
          command: [sh, -c, 'echo "hello from $(hostname)" > /tmp/index.html; echo "serving as $(hostname)"; exec httpd -f -p 8080 -h /tmp']
          ports: [{ containerPort: 8080 }]
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
YAML
running_ready() { # running_ready N — exactly N pods of the Deployment, all Running and Ready
  local out; out=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}/{.status.containerStatuses[0].ready}/{.metadata.deletionTimestamp}{"\n"}{end}')
  [ "$(grep -c . <<<"$out")" = "$1" ] && [ "$(grep -cx 'Running/true/' <<<"$out")" = "$1" ]
}
t0=$(date +%s%N)
check "kubectl apply: Deployment web, 3 replicas" kc apply -f "$run/web.yaml"
until_ok 120 running_ready 3
check "3 replicas scheduled onto $NODE, Running and Ready ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" running_ready 3
pods=($(kc get pods -l app=web -o jsonpath='{.items[*].metadata.name}'))
ips=($(kc get pods -l app=web -o jsonpath='{.items[*].status.podIP}'))
check "each pod has its own IP in $POD_SUBNET (${ips[*]})" sh -c "[ \$(printf '%s\n' ${ips[*]} | sort -u | grep -c '^10\.244\.91\.') = 3 ]"
check "podrun ps (the CLI, same state) lists the 3 pods" sh -c "$(declare -f nodex); nodex $repo/bin/podrun --runroot $run/state --data-root $run/data ps | grep -c '^web-' | grep -qx 3"
# (Debian's static busybox 1.35 wget crashes with -q, -T or -O-, on any host: a file, then cat)
reach() { kc exec "${pods[0]}" -- sh -c "wget -O /tmp/got http://${ips[$1]}:8080/index.html 2>/dev/null && cat /tmp/got" | grep -qx "hello from ${pods[$1]}"; }
check "pod ${pods[0]} reaches ${pods[1]} by pod IP" reach 1
check "pod ${pods[0]} reaches ${pods[2]} by pod IP" reach 2
check "the service-account token kubelet mounts (its tmpfs) is what the container reads" sh -c "$(declare -f nsx kc); kc exec ${pods[0]} -- cat /var/run/secrets/kubernetes.io/serviceaccount/token | grep -q '^eyJ'"
check "kubectl exec (SPDY through kubelet to podrun's streaming server)" sh -c "$(declare -f nsx kc); kc exec ${pods[0]} -- hostname | grep -qx ${pods[0]}"
check "kubectl exec -i: stdin reaches the container" sh -c "$(declare -f nsx kc); echo piped | kc exec -i ${pods[0]} -- cat | grep -qx piped"
check "kubectl logs (the CRI log podrun writes under /var/log/pods)" sh -c "$(declare -f nsx kc); kc logs ${pods[1]} | grep -qx 'serving as ${pods[1]}'"
nsx "$DEB/kubectl" --kubeconfig "$pki/admin.kubeconfig" port-forward "pod/${pods[2]}" 18080:8080 > "$run/port-forward.log" 2>&1 &
pf=$!
check "kubectl port-forward 18080 → ${pods[2]}:8080" until_ok 15 sh -c "nsenter --net=/run/netns/$NS curl -s -m 3 http://127.0.0.1:18080/index.html | grep -qx 'hello from ${pods[2]}'"
kill $pf 2>/dev/null; wait $pf 2>/dev/null

# a deleted pod is replaced
t0=$(date +%s%N)
kc delete pod "${pods[0]}" --wait=false >/dev/null
replaced() { running_ready 3 && ! kc get pods -l app=web -o name | grep -qx "pod/${pods[0]}"; }
until_ok 90 replaced
check "kubectl delete pod ${pods[0]}: replaced, 3 Running again ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" replaced
gone_from_podrun() { ! crictl pods --name "${pods[0]}" -q | grep -q .; }
check "…and its sandbox removed from podrun" until_ok 60 gone_from_podrun

# scale to 5 and back to 3
t0=$(date +%s%N)
kc scale deployment web --replicas 5 >/dev/null
until_ok 90 running_ready 5
check "scaled to 5: 5 Running and Ready ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" running_ready 5
kc scale deployment web --replicas 3 >/dev/null
until_ok 90 running_ready 3
check "scaled back to 3" running_ready 3
podrun_count() { [ "$(crictl pods --state ready -q | grep -c .)" = 3 ]; }
check "podrun keeps 3 ready sandboxes" until_ok 60 podrun_count

# removal
kc delete deployment web >/dev/null
none_left() { [ -z "$(kc get pods -l app=web -o name)" ] && [ -z "$(crictl pods -q)" ]; }
check "kubectl delete deployment: every pod stopped and removed from podrun" until_ok 90 none_left
check "kubelet still healthy" sh -c "nsenter --net=/run/netns/$NS curl -s -m 2 http://127.0.0.1:10248/healthz | grep -qx ok"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
