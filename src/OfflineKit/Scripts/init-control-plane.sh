#!/usr/bin/env bash
# Initialises the control plane, as the guide does by hand (初始化主节点; 设置变量):
#
#   bash scripts/init-control-plane.sh --config FILE --user NAME [--upload-certs]
#
#   - kubeadm init --config FILE: the InitConfiguration + ClusterConfiguration offlinekit generated
#     from the inventory (kubeadm.k8s.io/v1beta3 for 1.23: a fresh bootstrap token, advertiseAddress,
#     node name, criSocket, imageRepository, kubernetesVersion, podSubnet, serviceSubnet, dnsDomain)
#   - /etc/kubernetes/admin.conf copied to ~NAME/.kube/config, owned by NAME (the guide's
#     mkdir -p $HOME/.kube; cp -i /etc/kubernetes/admin.conf $HOME/.kube/config; chown …)
#   - FILE holds the bootstrap token: it is removed once the cluster has it
#   - --upload-certs (more than one control plane): kubeadm init --upload-certs stores the control
#     plane's certificates, encrypted, in the cluster for the other control planes to join with; the
#     key it prints is shown as <certificate-key> (offlinekit uploads them afresh for each run's joins)
#
# kubeadm prints the token in its join hint; this script shows kubeadm's output with every token
# replaced by <token>, so no log offlinekit keeps holds one (`kubeadm token create
# --print-join-command` on this host gives a fresh one when needed).
# Safe to run again: a control plane already initialised (/etc/kubernetes/admin.conf answering) is
# left alone; only the user's kubeconfig is brought up to date.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path finds /etc/kubernetes and the user's home under /path;
# kubeadm and kubectl are then the lab's stand-ins.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
config=""
user=""
upload=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "init-control-plane: $*"; }
die() { echo "init-control-plane: $*" >&2; exit 1; }
redact() { sed -E 's/[a-z0-9]{6}\.[a-z0-9]{16}/<token>/g; s/(^|[^:0-9a-f])[0-9a-f]{64}([^0-9a-f]|$)/\1<certificate-key>\2/g'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --config) config="${2:-}"; shift 2 ;;
    --user) user="${2:-}"; shift 2 ;;
    --upload-certs) upload=(--upload-certs); shift ;;
    -h|--help) usage ;;
    *) echo "init-control-plane: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -n "$config" && -n "$user" ]] || { echo "init-control-plane: --config FILE and --user NAME are required" >&2; usage; }
command -v kubeadm >/dev/null 2>&1 || die "kubeadm is not installed (the packages step installs it)"

admin="$root/etc/kubernetes/admin.conf"
if [[ -f "$admin" ]] && kubectl --kubeconfig "$admin" get nodes >/dev/null 2>&1; then
  say "the control plane is initialised already ($admin answers); kubeadm init not run again"
else
  [[ -f "$config" ]] || die "$config is missing: offlinekit writes it just before this step; run the install again"
  say "kubeadm init --config $config${upload[*]:+ ${upload[*]}}"
  kubeadm init --config "$config" ${upload[@]+"${upload[@]}"} 2>&1 | redact || die "kubeadm init failed (its output is above); fix the cause, then \`kubeadm reset -f\` (or offlinekit reset) and install again"
  [[ -f "$admin" ]] || die "kubeadm init finished but wrote no $admin"
fi
rm -f "$config"

# The login user's kubeconfig: the guide's three commands.
entry="$(getent passwd "$user")" || die "no user '$user' on this host"
home="$(cut -d: -f6 <<< "$entry")"
uid="$(cut -d: -f3 <<< "$entry")"
gid="$(cut -d: -f4 <<< "$entry")"
kubeconfig="$root${home%/}/.kube/config"
# (sha256sum, not cmp: diffutils is not on every minimal host.)
if [[ -f "$kubeconfig" && "$(sha256sum < "$admin")" == "$(sha256sum < "$kubeconfig")" ]]; then
  say "$user's kubeconfig (${home%/}/.kube/config) is up to date"
else
  install -d -m 0700 -o "$uid" -g "$gid" "$(dirname "$kubeconfig")"
  install -m 0600 -o "$uid" -g "$gid" "$admin" "$kubeconfig"
  say "wrote ${home%/}/.kube/config for $user"
fi
say "OK: control plane initialised; kubectl works for $user"
