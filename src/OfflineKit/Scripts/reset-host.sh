#!/usr/bin/env bash
# Undoes offlinekit's install on this host (offlinekit reset sends and runs it):
#
#   bash reset-host.sh --state-dir DIR --user NAME [--purge]
#
#   - on a control plane of a highly available cluster, first keepalived and haproxy stopped and
#     disabled (the VIP moves to another control plane), their configs put back as they were and
#     keepalived's check removed; or kube-vip's static pod removed (its VIP moves to another control plane)
#   - kubeadm reset -f: the node leaves the cluster (a control plane's etcd member is removed); /etc/kubernetes, /var/lib/etcd and the kubelet's
#     state go (on the control plane the cluster itself goes)
#   - /etc/cni/net.d, and the kubeconfig install gave NAME (~NAME/.kube/config) and root
#   - /etc/chrony.conf as it was before install (kept as /etc/chrony.conf.offlinekit-orig)
#   - the journal in DIR is set aside (journal.reset-<time>): the next install runs every step again
#   - with --purge also the bundles pushed to DIR and /etc/yum.repos.d/offlinekit.repo, which points
#     into them
#
# Kept, on purpose: the installed packages and loaded images (a reinstall reuses them; `dnf remove`
# them by hand if the host leaves Kubernetes for good), and the host preparation (swap off, SELinux
# permissive, sysctl, /etc/hosts block), which is what any kubeadm host needs.
# Safe to run again: what is gone already is skipped.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path does all of it under /path; kubeadm and systemctl are
# then the lab's stand-ins.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
state=""
user=""
purge=0
changes=0

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "reset-host: $*"; }
die() { echo "reset-host: $*" >&2; exit 1; }
changed() { changes=$((changes + 1)); say "$*"; }
redact() { sed -E 's/[a-z0-9]{6}\.[a-z0-9]{16}/<token>/g; s/(^|[^:0-9a-f])[0-9a-f]{64}([^0-9a-f]|$)/\1<certificate-key>\2/g'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --state-dir) state="${2:-}"; shift 2 ;;
    --user) user="${2:-}"; shift 2 ;;
    --purge) purge=1; shift ;;
    -h|--help) usage ;;
    *) echo "reset-host: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -n "$state" && -n "$user" ]] || { echo "reset-host: --state-dir DIR and --user NAME are required" >&2; usage; }
[[ "$state" == /* && "$state" != / ]] || die "--state-dir must be an absolute folder other than /, not '$state'"

# The load balancer first: the VIP moves off this host before its API server goes.
for service in keepalived haproxy; do
  conf="$root/etc/$service/$service.$([[ $service == haproxy ]] && echo cfg || echo conf)"
  [[ -f "$conf" ]] && grep -q 'written by offlinekit' "$conf" || continue
  if systemctl is-active --quiet "$service" 2>/dev/null || systemctl is-enabled --quiet "$service" 2>/dev/null; then
    systemctl disable --now "$service" >/dev/null 2>&1 || systemctl stop "$service" || die "systemctl stop $service failed"
    changed "$service stopped and disabled"
  fi
  if [[ -f "$conf.offlinekit-orig" ]]; then mv -f "$conf.offlinekit-orig" "$conf"; else rm -f "$conf"; fi
  changed "put back the original ${conf#"$root"}"
done
if [[ -f "$root/etc/keepalived/offlinekit-check-apiserver.sh" ]]; then
  rm -f "$root/etc/keepalived/offlinekit-check-apiserver.sh"
  changed "removed /etc/keepalived/offlinekit-check-apiserver.sh"
fi

k8s="$root/etc/kubernetes"
if [[ -f "$k8s/manifests/kube-vip.yaml" ]] && grep -q 'written by offlinekit' "$k8s/manifests/kube-vip.yaml"; then
  rm -f "$k8s/manifests/kube-vip.yaml"
  changed "removed /etc/kubernetes/manifests/kube-vip.yaml (the kubelet stops kube-vip; the VIP moves on)"
fi
if [[ -e "$k8s/admin.conf" || -e "$k8s/kubelet.conf" || -d "$k8s/manifests" && -n "$(ls -A "$k8s/manifests" 2>/dev/null)" ]]; then
  command -v kubeadm >/dev/null 2>&1 || die "a cluster is set up here but kubeadm is missing; remove /etc/kubernetes by hand"
  # The runtime the install configured: containerd's socket is in /etc/crictl.yaml (docker hosts have none).
  cri=()
  socket="$(awk '$1 == "runtime-endpoint:" { print $2; exit }' "$root/etc/crictl.yaml" 2>/dev/null || true)"
  [[ -n "$socket" ]] && cri=(--cri-socket "$socket")
  kubeadm reset -f ${cri[@]+"${cri[@]}"} 2>&1 | redact || die "kubeadm reset -f failed (its output is above)"
  changed "kubeadm reset done"
fi

homes=(/root)
if entry="$(getent passwd "$user")"; then homes+=("$(cut -d: -f6 <<< "$entry")"); fi
for path in "$root/etc/cni/net.d" $(for h in "${homes[@]}"; do echo "$root${h%/}/.kube/config"; done); do
  if [[ -e "$path" ]]; then
    rm -rf -- "$path"
    changed "removed ${path#"$root"}"
  fi
done

conf="$root/etc/chrony.conf"
if [[ -f "$conf.offlinekit-orig" ]]; then
  mv -f "$conf.offlinekit-orig" "$conf"
  changed "put back the original /etc/chrony.conf"
  if systemctl is-active --quiet chronyd 2>/dev/null; then systemctl restart chronyd; fi
fi

if [[ -f "$state/journal" ]]; then
  mv "$state/journal" "$state/journal.reset-$(date -u +%Y%m%d-%H%M%S)"
  changed "journal set aside: the next install runs every step"
fi

if [[ $purge == 1 ]]; then
  for b in "$state"/offlinekit-*; do
    [[ -e "$b" ]] || continue
    rm -rf -- "$b"
    changed "removed ${b##*/}"
  done
  if [[ -f "$root/etc/yum.repos.d/offlinekit.repo" ]]; then
    rm -f "$root/etc/yum.repos.d/offlinekit.repo"
    changed "removed /etc/yum.repos.d/offlinekit.repo"
  fi
fi

if [[ $changes -eq 0 ]]; then
  say "nothing of offlinekit's install here; nothing to do"
else
  say "OK: reset ($changes changes)"
fi
