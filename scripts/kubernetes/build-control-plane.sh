#!/usr/bin/env bash
# By hand, not CI (issue "Kubernetes runs on podrun"): the control plane of the one-node cluster, offline, from the same
# Debian source tree (upstream v1.20.2) that ../shared/conformance/kubelet/build-kubelet.sh builds kubelet from:
#   ANCHORS=/opt/anchors bash scripts/kubernetes/build-control-plane.sh
# → $ANCHORS/cluster/bin/{kube-apiserver,kube-scheduler,kube-controller-manager} (v1.20.2) and, unpacked from Debian's
# packages without installing them (no service is started, no file of the host replaced), $ANCHORS/cluster/deb/root/
# usr/bin/{etcd,etcdctl} (etcd-server/etcd-client 3.4.23) and kubectl (kubernetes-client 1.20.2).
# kube-apiserver needs pkg/generated/openapi/zz_generated.openapi.go, which upstream's make generates and the release
# tarball lacks: it is generated here with the vendored openapi-gen over every package tagged +k8s:openapi-gen, in a
# GOPATH workspace (openapi-gen v1.20 resolves packages the GOPATH way), as hack/make-rules do.
set -euo pipefail
ANCHORS=${ANCHORS:?set ANCHORS}
K=$ANCHORS/kubelet
TREE=$K/src/kubernetes-1.20.2
C=$ANCHORS/cluster
GO=${GO:-/usr/lib/go-1.23/bin/go}
[ -d "$TREE/vendor" ] || { echo "no source tree at $TREE: run ../shared/conformance/kubelet/build-kubelet.sh first" >&2; exit 1; }
mkdir -p "$C/bin" "$C/deb"
export GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE=${GOCACHE:-$K/gocache}

if [ ! -f "$TREE/pkg/generated/openapi/zz_generated.openapi.go" ]; then
  (cd "$TREE" && "$GO" build -o "$C/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen)
  mkdir -p "$C/gopath/src/k8s.io" && ln -sfn "$TREE" "$C/gopath/src/k8s.io/kubernetes"
  cd "$TREE"
  tagged() { grep -rl --include='*.go' '+k8s:openapi-gen=' "$@" | xargs -n1 dirname | LC_ALL=C sort -u; }
  # the tree's own packages, vendored third-party ones, and the staging repos (vendor/k8s.io/* are symlinks to them)
  dirs=$( { tagged $(ls -d */ | grep -vE '^(_output|vendor|staging)/$'); tagged vendor | grep -vE '^vendor/k8s.io/';
    (cd staging/src && tagged k8s.io | grep -vE '^k8s.io/(code-generator|sample-apiserver)/' | sed 's|^|vendor/|'); } |
    sed 's|^|k8s.io/kubernetes/|' | paste -sd,)
  cd "$C/gopath/src/k8s.io/kubernetes"
  GOPATH=$C/gopath GO111MODULE=off GOFLAGS= PATH=$(dirname "$GO"):$PATH "$C/openapi-gen" --logtostderr -i "$dirs" \
    -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$C/openapi-violations.report"
fi

cd "$TREE"
V=k8s.io/component-base/version
LD="-s -w -checklinkname=0 -X $V.gitVersion=v1.20.2 -X $V.gitMajor=1 -X $V.gitMinor=20
 -X $V.gitCommit=faecb196815e248d3ecfb03c680a4507229c2a56 -X $V.gitTreeState=clean -X $V.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for c in kube-apiserver kube-scheduler kube-controller-manager; do
  start=$(date +%s)
  "$GO" build -p "$(nproc)" -trimpath -ldflags "$LD" -o "$C/bin/$c" "./cmd/$c"
  echo "built $c in $(( $(date +%s) - start )) s: $("$C/bin/$c" --version)"
done

cd "$C/deb"
apt-get download etcd-server etcd-client kubernetes-client >/dev/null 2>&1 || apt-get download etcd-server etcd-client kubernetes-client
for d in *.deb; do dpkg-deb -x "$d" root; done
root/usr/bin/etcd --version | head -1
root/usr/bin/kubectl version --client --short 2>/dev/null || root/usr/bin/kubectl version --client
