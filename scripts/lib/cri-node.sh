# Sourced by the by-hand CRI scripts (scripts/kubelet/e2e.sh, scripts/kubernetes/cluster-e2e.sh, scripts/cri/critest.sh):
# what a node running `podrun cri` needs on disk, and their check/nsx helpers.

# check "what" command... — runs it quietly, prints PASS/FAIL: what, counts into $passed/$failed
passed=0 failed=0
check() {
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "PASS: $what"; passed=$((passed+1)); else echo "FAIL: $what"; failed=$((failed+1)); fi
}
# nsx command... — in the network namespace $NS
nsx() { nsenter --net=/run/netns/$NS "$@"; }

# write_cni_bridge_conflist DIR NAME BRIDGE SUBNET — DIR/cni/10-NAME.conflist: Debian's bridge (gateway, hairpin)
#   + host-local IPAM on SUBNET (leases in DIR/cni-ipam) + portmap
write_cni_bridge_conflist() {
  local dir=$1 name=$2 bridge=$3 subnet=$4
  mkdir -p "$dir/cni"
  cat > "$dir/cni/10-$name.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "$name", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$dir/cni-ipam", "ranges": [[{"subnet": "$subnet"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
}

# write_cri_node_config DIR NAME BRIDGE SUBNET SOCKET ANCHORS
#   that CNI list, and DIR/cri.yaml: podrun cri on SOCKET, state and data under DIR, that CNI directory, the kit's
#   registry mirrors, restrictOomScoreAdj (root lacks CAP_SYS_RESOURCE here; kubelet asks -997 for static pods).
write_cri_node_config() {
  local dir=$1 name=$2 bridge=$3 subnet=$4 sock=$5 anchors=$6
  write_cni_bridge_conflist "$dir" "$name" "$bridge" "$subnet"
  cat > "$dir/cri.yaml" <<YAML
listen: unix://$sock
root: $dir/state
dataRoot: $dir/data
cni: { confDir: $dir/cni, binDirs: [/usr/lib/cni] }
registries: { configPath: $anchors/cri/certs.d }
restrictOomScoreAdj: true
YAML
}
