#!/usr/bin/env bash
# Set up podrun on a Debian 12 root machine: system packages, npm dependencies,
# the native build (addon + podrun-monitor), TypeScript, test fixtures, and
# `podrun` on PATH. Idempotent: what is already there is skipped.
#   --no-example   do not run the example container at the end
set -euo pipefail
cd "$(dirname "$0")/.."
run_example=1
[ "${1:-}" = "--no-example" ] && run_example=0

if [ "$(id -u)" != 0 ]; then echo "setup: run as root (sudo $0)" >&2; exit 1; fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: podrun needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# build: compiler, python for node-gyp, libseccomp and libzstd headers
# fixtures: busybox-static, zstd; tests: util-linux (unshare/nsenter), procps (ps), iproute2
# benchmarks: runc and hyperfine, to compare against; podman+conmon+catatonit drive podrun-oci in a test
# images: skopeo pushes fixtures into a local docker-registry (htpasswd from apache2-utils, token certs from
#   openssl); umoci unpacks the same images to compare trees
# networking: Debian's CNI plugins (bridge, host-local, portmap, …) and iptables, which portmap and bridge ipMasq use
# rootless: uidmap (newuidmap/newgidmap map an ordinary user's /etc/subuid range), passwd (useradd, for its tests),
#   passt (pasta: rootless pods' network), slirp4netns (rootless podman's network, which the rootless bench runs)
packages=(build-essential python3 libseccomp-dev libzstd-dev busybox-static zstd util-linux procps iproute2 runc hyperfine podman conmon catatonit
  skopeo umoci docker-registry apache2-utils openssl containernetworking-plugins iptables uidmap passwd passt slirp4netns)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# pasta opens /dev/net/tun as the user: Debian's udev makes it 0666; where no udev ran (a container, some VMs) it
# can be 0600, and rootless pods could not have a network
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  echo "setup: /dev/net/tun made 0666, as Debian's udev makes it"
  chmod 0666 /dev/net/tun
fi

# npm ci builds the addon and monitor (install script: node-gyp rebuild) and the TypeScript (prepare)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx node-gyp build >/dev/null
npm run -s build:ts
npm run -s fixtures
ln -sf "$PWD/bin/podrun" /usr/local/bin/podrun
ln -sf "$PWD/build/Release/podrun-oci" /usr/local/bin/podrun-oci   # the C front end itself (delegates to bin/podrun-oci.js)

if [ "$run_example" = 1 ]; then
  echo "setup: done. Running the example pod (examples/pods/web-sidecar.yaml):"
  examples/run-example.sh examples/pods/web-sidecar.yaml
fi
