#!/usr/bin/env bash
# Joins this worker to the cluster, as the guide does by hand (node节点加入集群):
#
#   bash scripts/join-node.sh --join-file FILE --node-name NAME
#   bash scripts/join-node.sh --config FILE --node-name NAME
#
# With --config, FILE is a kubeadm JoinConfiguration offlinekit wrote from the inventory and the
# control plane's fresh token (kubeadm join --config FILE). With --join-file, FILE holds the one line `kubeadm token create --print-join-command` printed on the control plane
# (kubeadm join ADDRESS:6443 --token … --discovery-token-ca-cert-hash sha256:…). offlinekit writes it
# just before this step, readable by the login user only; the script removes it whatever happens,
# and shows kubeadm's output with the token replaced by <token>.
# Safe to run again: a node already joined (/etc/kubernetes/kubelet.conf) is left alone.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path looks for /etc/kubernetes under /path; kubeadm is
# then the lab's stand-in.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
join_file=""
config=""
node=""

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "join-node: $*"; }
die() { echo "join-node: $*" >&2; exit 1; }
redact() { sed -E 's/[a-z0-9]{6}\.[a-z0-9]{16}/<token>/g; s/(^|[^:0-9a-f])[0-9a-f]{64}([^0-9a-f]|$)/\1<certificate-key>\2/g'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --join-file) join_file="${2:-}"; shift 2 ;;
    --config) config="${2:-}"; shift 2 ;;
    --node-name) node="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "join-node: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ ( -n "$join_file" || -n "$config" ) && -n "$node" ]] || { echo "join-node: --join-file FILE (or --config FILE) and --node-name NAME are required" >&2; usage; }
trap 'rm -f ${join_file:+"$join_file"} ${config:+"$config"}' EXIT

if [[ -f "$root/etc/kubernetes/kubelet.conf" ]]; then
  say "already joined (/etc/kubernetes/kubelet.conf exists); nothing to do"
  exit 0
fi
command -v kubeadm >/dev/null 2>&1 || die "kubeadm is not installed (the packages step installs it)"
if [[ -n "$config" ]]; then
  [[ -f "$config" ]] || die "$config is missing: offlinekit writes it just before this step; run the install again"
  grep -q '^kind: JoinConfiguration$' "$config" || die "$config is not a kubeadm JoinConfiguration"
  say "kubeadm join --config $config (node $node)"
  kubeadm join --config "$config" 2>&1 | redact \
    || die "kubeadm join failed (its output is above); fix the cause, then \`kubeadm reset -f\` on this host and install again"
  say "OK: $node joined the cluster"
  exit 0
fi
[[ -f "$join_file" ]] || die "$join_file is missing: offlinekit writes it just before this step; run the install again"
line="$(head -n 1 "$join_file")"
[[ "$line" =~ ^kubeadm\ join\ [^\ ]+:[0-9]+\ --token\ [a-z0-9]{6}\.[a-z0-9]{16}\ --discovery-token-ca-cert-hash\ sha256:[0-9a-f]{64}\ *$ ]] \
  || die "$join_file does not hold a kubeadm join command (kubeadm join ADDRESS:PORT --token … --discovery-token-ca-cert-hash sha256:…)"
read -r -a words <<< "$line"

say "kubeadm join ${words[2]} --token <token> --discovery-token-ca-cert-hash ${words[6]} --node-name $node"
kubeadm "${words[@]:1}" --node-name "$node" 2>&1 | redact \
  || die "kubeadm join failed (its output is above); fix the cause, then \`kubeadm reset -f\` on this host and install again"
say "OK: $node joined the cluster at ${words[2]}"
