#!/usr/bin/env bash
# `make demo`: the main job, end to end, on this machine, with the lab standing in for the internet
# on the build side and for the three hosts on the site side. Needs root (the lab hosts are network
# namespaces); sets everything up itself (tests/lab/lab-setup.sh) and stops it all when it ends.
#
# Real: Debian's docker-registry on 127.0.0.1 holding synthetic images under the real names (kubeadm's
# set for 1.23.0, Calico v3.25.2, metrics-server v0.6.3); the spec's four yum repos (kubernetes,
# docker-ce, CentOS 8.5 BaseOS and AppStream) as real, signed RPMs made by rpmbuild and createrepo_c that
# copy the real packages' names, versions and dependencies, served over HTTP on 127.0.0.1; the real
# upstream Calico and metrics-server manifests behind file:// URL mirrors; offlinekit itself;
# sha256sum; and three lab hosts (network namespaces with their own sshd) that `install` pushes to,
# verifies on, and brings up with the bundle's own scripts: packages installed for real by
# dnf --installroot from the pushed bundle, and a real dockerd per host that the images load into.
# Stand-ins (tests/lab/standins, named as such): systemctl (but `systemctl start docker` starts the
# host's real dockerd), setenforce, getenforce, modprobe, sysctl, swapoff, hostnamectl, kubeadm, kubectl
# and chronyd. The demo shows the install's own result and ends with a line saying which steps finished
# where; it exits 1 when a host did not finish.
#
# K8S=1.23.0 (default: the guide) and RUNTIME=docker|containerd (default: docker for 1.23, containerd
# above) choose the bundle: `make demo K8S=1.23.0 RUNTIME=containerd` runs the same demo with a real
# containerd per host; `make demo K8S=1.31.2` runs a current Kubernetes with containerd (kubeadm config
# v1beta4): the lab's sources are then the version catalog's for 1.31.2 (pkgs.k8s.io-layout per-minor
# repos, docker-ce as it is today, kubeadm's images for 1.31.2 and the catalog's Calico and
# metrics-server), and the kubeadm stand-in checks 1.31.2's own image list. The lab holds the RPMs of
# 1.23.0 and the 1.30/1.31 patches in tests/lab/LabTool/LabRepoCatalog.cs; another K8S is refused.
set -euo pipefail

k8s="${K8S:-1.23.0}"
runtime="${RUNTIME:-}"
if [[ -z "$runtime" ]]; then
  if [[ "$k8s" == 1.23.* ]]; then runtime=docker; else runtime=containerd; fi
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/lab/lab-setup.sh
source "$repo/tests/lab/lab-setup.sh"
offlinekit="${OFFLINEKIT:-$repo/dist/linux-x64/offlinekit}"
out="$repo/bundles"
runs="$repo/.lab/demo-runs"   # kept after the demo: one folder per install run, a log per host

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

lab_require_root demo
lab_require_tools demo
lab_lock demo "$repo/tests/lab/demo.sh" "$@"
[[ -x $offlinekit ]] || { echo "demo: $offlinekit is missing: run 'make publish' first ('make demo' does)" >&2; exit 1; }

lab="$(mktemp -d /tmp/offlinekit-demo.XXXXXX)"
chmod 755 "$lab"  # mktemp's 0700 would keep the lab's non-root login user out of the hosts' state roots
cleanup() { lab_stop; rm -rf "$lab"; }
trap cleanup EXIT
# Ctrl-C or a kill stops here as soon as the running command returns (a child that handles the signal
# itself, like offlinekit, exits instead of dying of it, so bash alone would carry on); EXIT cleans up.
trap 'echo "interrupted; stopping the lab" >&2; exit 130' INT
trap 'echo "terminated; stopping the lab" >&2; exit 143' TERM

step "lab (connected side): a registry, yum repos of real RPMs and the manifests, all on 127.0.0.1"
lab_sources_start "$lab/sources" "$k8s" "$runtime"
cat "$LAB_MIRRORS"

step "build (connected side): Kubernetes $k8s with $runtime, the embedded catalog's spec, only the mirrors point at the lab"
tarball="$("$offlinekit" build --k8s "$k8s" --runtime "$runtime" --mirrors "$LAB_MIRRORS" --cache "$lab/cache" --output "$out")"
ls -l "$tarball" "$tarball.sha256"

step "check the tarball before carrying it in (plain sha256sum)"
(cd "$(dirname "$tarball")" && sha256sum -c "$(basename "$tarball").sha256")

step "verify (air-gapped side)"
"$offlinekit" verify "$tarball"

step "inspect"
"$offlinekit" inspect "$tarball"

step "extract safely, then check with the bundle's own script"
bundle_dir="$("$offlinekit" extract "$tarball" --to "$lab/site")"
bash "$bundle_dir/scripts/verify.sh"

step "the lab hosts: k8s-master, k8s-node01, k8s-node02 (network namespaces, each with its own sshd)"
lab_hosts_start "$lab/hosts"
inventory="$OFFLINEKIT_LAB_DIR/inventory.yaml"

step "install --dry-run: the plan, connecting to nothing"
"$offlinekit" install "$tarball" --inventory "$inventory" --dry-run | head -n 30
echo "..."

step "install onto the three hosts"
# A fresh known_hosts: the keys are new to us, so accept and record them (like StrictHostKeyChecking=accept-new).
set +e
"$offlinekit" install "$tarball" --inventory "$inventory" --known-hosts "$lab/known_hosts" --accept-new-host-keys --runs-dir "$runs"
install_rc=$?
set -e
run_dir="$(lab_run_dir "$runs")"
rows="$(lab_run_rows "$run_dir")"

step "what the hosts got (each host's root is $OFFLINEKIT_LAB_DIR/<host>/root)"
for host in $LAB_HOSTS; do
  root="$OFFLINEKIT_LAB_DIR/$host/root"
  packages=$(rpm --root "$root" -qa --qf '%{NAME}\n' 2>/dev/null | grep -vc '^gpg-pubkey$' || true)
  if [[ $runtime == containerd ]]; then
    # By name: containerd's CRI plugin adds a sha256:<image id> reference beside each name.
    images=$(ctr --address "$OFFLINEKIT_LAB_DIR/$host/containerd.sock" -n k8s.io images ls -q 2>/dev/null | grep -vc '^sha256:' || true)
    holder="its containerd holds $images images in k8s.io"
  else
    images=$(docker -H "unix://$OFFLINEKIT_LAB_DIR/$host/docker.sock" images -q 2>/dev/null | wc -l || true)
    holder="its dockerd holds $images images"
  fi
  printf '%s: %s RPMs installed by dnf --installroot (%s); %s\n' "$host" "$packages" \
    "$(rpm --root "$root" -q "$([[ $runtime == containerd ]] && echo containerd.io || echo docker-ce)" kubelet kubeadm kubectl 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" "$holder"
done
master="$OFFLINEKIT_LAB_DIR/k8s-master"
if [[ $runtime == containerd && -S $master/containerd.sock ]]; then
  echo "k8s-master's containerd (real, private to the host), namespace k8s.io (each also under its image id):"
  ctr --address "$master/containerd.sock" -n k8s.io images ls -q | grep -v '^sha256:' | sort | sed 's/^/  /'
  echo "k8s-master's /etc/containerd/config.toml, as containerd reads it (merged by offlinekit):"
  containerd --config "$master/root/etc/containerd/config.toml" config dump | grep -E 'sandbox_image|SystemdCgroup|config_path' | sed 's/^ */  /'
elif [[ -S $master/docker.sock ]]; then
  echo "k8s-master's dockerd (real, private to the host):"
  docker -H "unix://$master/docker.sock" images --format '  {{.Repository}}:{{.Tag}}  {{.ID}}' | sort
fi
echo "k8s-master's /etc/hosts:"
sed 's/^/  /' "$master/root/etc/hosts"
if [[ -f $master/root/var/log/offlinekit-standins.log ]]; then
  echo "what k8s-master asked the stand-ins (the status queries left out):"
  grep -v ' is-\| --static\|getenforce$' "$master/root/var/log/offlinekit-standins.log" | sed 's/^/  asked: /'
fi

step "status: each host's journal"
"$offlinekit" status --inventory "$inventory" --known-hosts "$lab/known_hosts" || echo "(status could not read every host)"

step "done"
echo "bundle:   $tarball (+ .sha256)"
echo "run logs: $run_dir/ ($(cd "$run_dir" && ls -- *.log | paste -sd " "))"
awk -F'\t' '$1 == "step" && ($4 == "done" || $4 == "journal") { d[$2] = d[$2] (d[$2] == "" ? "" : " ") $3 }
  $1 == "step" && ($4 == "failed" || $4 == "blocked") { s[$2] = "; " $4 " at " $3 ": " $6 }
  $1 == "result" { printf "  %s: %s of %s steps done: %s%s\n", $2, $4, $5, d[$2], s[$2] }' <<<"$rows"
# The one line: the steps done on every host, then where each host stopped. A host that did not finish
# is a failure: exit 1.
summary="$(awk -F'\t' -v rc="$install_rc" '
  $1 == "step" { if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
  $1 == "step" && ($4 == "done" || $4 == "journal") { ok[$3]++ }
  $1 == "step" && $4 == "failed" { stops = stops sep $3 " failed on " $2; sep = ", " }
  $1 == "step" && $4 == "blocked" { stops = stops sep $3 " blocked on " $2; sep = ", " }
  $1 == "result" { hosts++; if ($4 < $5) left += $5 - $4 }
  END {
    for (i = 1; i <= n; i++) if (ok[order[i]] == hosts) all = all (all == "" ? "" : ", ") order[i]
    if (rc == 0) printf "ok\tinstall finished on all %d hosts: %s\n", hosts, all
    else printf "failed\tinstall exited %d: %s done on all %d hosts; not finished: %s (%d steps of the plan not done)\n", rc, all == "" ? "no step" : all, hosts, stops == "" ? "see the logs" : stops, left
  }' <<<"$rows")"
echo "demo: ${summary#*$'\t'}"
case "${summary%%$'\t'*}" in
  ok) ;;
  *) echo "demo: FAILED: see the install's summary and the run logs above" >&2; exit 1 ;;
esac
