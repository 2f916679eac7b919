#!/usr/bin/env bash
# Run an example pod, show what its containers print, then remove it.
# The examples use localhost/podrun/busybox, the fixture image (loaded here
# if missing) — no registry needed.
set -euo pipefail
cd "$(dirname "$0")/.."
pod=${1:-examples/pods/web-sidecar.yaml}
podrun image inspect localhost/podrun/busybox >/dev/null 2>&1 ||
  podrun load -q --name localhost/podrun/busybox rootfs-fixtures/.out/images/busybox-gzip >/dev/null
# the Pod's name (the file may hold ConfigMaps and Secrets first, in any YAML style)
name=$(node -e 'for (const d of require("yaml").parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8"))) { const o = d.toJS(); if (o?.kind === "Pod") { console.log(o.metadata.name); break } }' "$pod")
podrun rm -f "$name" >/dev/null 2>&1 || true
echo "\$ podrun start $pod"
podrun start "$pod"
sleep 4
echo "\$ podrun ps"
podrun ps
for c in $(podrun inspect "$name" | node -e 'const p=JSON.parse(require("fs").readFileSync(0,"utf8"));for(const c of [...p.status.initContainerStatuses,...p.status.containerStatuses])console.log(c.name)'); do
  echo "\$ podrun logs $name -c $c"
  podrun logs "$name" -c "$c"
done
echo "\$ podrun rm -f $name"
podrun rm -f "$name"
