#!/usr/bin/env bash
# `make demo`: the main job, end to end, on this machine, with the lab standing in for the internet.
#
# Real: Debian's docker-registry on 127.0.0.1 holding synthetic images under the real names (kubeadm's
# set for 1.23.0, Calico v3.25.2, metrics-server v0.6.3), the real upstream Calico and metrics-server
# manifests behind file:// URL mirrors, offlinekit itself, sha256sum, a private dockerd that loads the
# images with the bundle's own script, and three lab hosts (network namespaces, each with its own sshd)
# that `install` pushes to and verifies on.
# Not yet: the RPM stage needs the lab's yum repos served over HTTP (the integration tests build them
# with rpmbuild), so the hosts stop at the packages step; init, join, network, addons and time are not
# written yet. The demo says so where they would run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
offlinekit="${OFFLINEKIT:-$repo/dist/linux-x64/offlinekit}"
out="$repo/bundles"
lab="$(mktemp -d /tmp/offlinekit-demo.XXXXXX)"
pids=()
hosts_up=0
cleanup() {
  if [[ $hosts_up -eq 1 ]]; then bash "$repo/tests/lab/hosts-down.sh" >/dev/null 2>&1 || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$lab"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
need() { command -v "$1" >/dev/null || { echo "demo: $1 is missing (apt-get install $2)" >&2; exit 1; }; }
need docker-registry docker-registry
need sha256sum coreutils

step "lab: a registry on 127.0.0.1 seeded with the spec's images, the manifests behind file:// mirrors"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 5055)
cat > "$lab/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $lab/registry}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$lab/registry.yml" >"$lab/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
dotnet build "$repo/tests/lab/LabTool" -c Release -o "$lab/labtool" -v q -nologo >/dev/null
dotnet "$lab/labtool/LabTool.dll" seed "http://127.0.0.1:$port"
testdata="$repo/tests/OfflineKit.Tests/Manifests/testdata"
mkdir -p "$lab/raw/projectcalico/calico/v3.25.2/manifests" "$lab/github/kubernetes-sigs/metrics-server/releases/download/v0.6.3"
cp "$testdata/calico-v3.25.2.yaml" "$lab/raw/projectcalico/calico/v3.25.2/manifests/calico.yaml"
cp "$testdata/metrics-server-v0.6.3-components.yaml" "$lab/github/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml"
cat > "$lab/mirrors.yaml" <<YAML
# Where the spec's origins really come from in the lab; names in the bundle stay the origin names.
registries:
  registry.aliyuncs.com: http://127.0.0.1:$port
  registry.cn-hangzhou.aliyuncs.com: http://127.0.0.1:$port
  docker.io: http://127.0.0.1:$port
urls:
  https://raw.githubusercontent.com/: file://$lab/raw/
  https://github.com/: file://$lab/github/
YAML
cat "$lab/mirrors.yaml"

step "build (connected side): the embedded spec, only the mirrors point at the lab"
echo "note: --without rpms: the RPM stage needs the lab's yum repos over HTTP, which the integration tests build"
tarball="$("$offlinekit" build --k8s 1.23.0 --mirrors "$lab/mirrors.yaml" --cache "$lab/cache" --output "$out" --without rpms)"
ls -l "$tarball" "$tarball.sha256"

step "check the tarball before carrying it in (plain sha256sum)"
(cd "$(dirname "$tarball")" && sha256sum -c "$(basename "$tarball").sha256")

step "verify (air-gapped side)"
"$offlinekit" verify "$tarball"

step "inspect"
"$offlinekit" inspect "$tarball"

step "extract safely, then check on the host with the bundle's own script"
bundle_dir="$("$offlinekit" extract "$tarball" --to "$lab/site")"
bash "$bundle_dir/scripts/verify.sh"

if command -v dockerd >/dev/null; then
  step "load the images on a 'control-plane host': a private dockerd and the bundle's import script"
  dockerd --data-root "$lab/docker" --exec-root "$lab/docker-exec" --pidfile "$lab/docker.pid" --host "unix://$lab/docker.sock" \
    --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs >"$lab/dockerd.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do docker -H "unix://$lab/docker.sock" version >/dev/null 2>&1 && break; sleep 0.2; done
  DOCKER_HOST="unix://$lab/docker.sock" bash "$bundle_dir/scripts/import-images.sh" --role control-plane --runtime docker
  docker -H "unix://$lab/docker.sock" images --format '{{.Repository}}:{{.Tag}}  {{.ID}}'
  DOCKER_HOST="unix://$lab/docker.sock" bash "$bundle_dir/scripts/import-images.sh" --role control-plane --runtime docker
else
  echo "(no dockerd on this machine: apt-get install docker.io to see the images load)"
fi

step "install onto the lab hosts (three network namespaces with their own sshd)"
if [[ $EUID -ne 0 ]]; then
  echo "(the lab hosts need root for network namespaces: skipping install)"
else
  export OFFLINEKIT_LAB_DIR="$lab/hosts"
  chmod 755 "$lab"  # mktemp's 0700 would keep the lab's non-root login user out of its state root
  hosts_up=1
  bash "$repo/tests/lab/hosts-up.sh"
  # shellcheck disable=SC1091
  source "$OFFLINEKIT_LAB_DIR/lab.env"
  export OFFLINEKIT_LAB_PASSWORD="$LAB_PASSWORD" OFFLINEKIT_LAB_PASSPHRASE="$LAB_PASSPHRASE"
  for address in $LAB_ADDRESSES; do ip route get "$address" | head -n 1; done
  "$offlinekit" install "$tarball" --inventory "$OFFLINEKIT_LAB_DIR/inventory.yaml" --dry-run | head -n 30
  echo "..."
  # A fresh known_hosts: the keys are new to us, so accept and record them (like StrictHostKeyChecking=accept-new).
  "$offlinekit" install "$tarball" --inventory "$OFFLINEKIT_LAB_DIR/inventory.yaml" \
    --known-hosts "$lab/known_hosts" --accept-new-host-keys --runs-dir "$lab/runs" \
    || echo "(push, verify and prepare done on every host; packages stops there: this demo's bundle is built --without rpms, and init, join, network, addons and time are not implemented yet)"
  echo "what prepare did on k8s-master (its root is $OFFLINEKIT_LAB_DIR/k8s-master/root; the system tools are the lab's stand-ins):"
  cat "$OFFLINEKIT_LAB_DIR/k8s-master/root/etc/hosts"
  sed 's/^/  asked: /' "$OFFLINEKIT_LAB_DIR/k8s-master/root/var/log/offlinekit-standins.log" | grep -v ' is-\| --static\|getenforce$'

  "$offlinekit" status --inventory "$OFFLINEKIT_LAB_DIR/inventory.yaml" --known-hosts "$lab/known_hosts"
fi

step "done"
echo "bundle: $tarball"
