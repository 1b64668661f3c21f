#!/usr/bin/env bash
# Creates the bundle's manifests in the cluster, as the guide does by hand (安装网络插件:
# kubectl create -f calico.yaml; 六、Metrics Server部署), on the control plane:
#
#   bash scripts/apply-manifests.sh --manifest FILE... [--pod-subnet CIDR] [--wait-ready]
#       [--wait-metrics] [--expect-node NAME]... [--timeout SECONDS]
#   bash scripts/apply-manifests.sh --show-nodes      # kubectl get nodes -o wide (offlinekit status)
#   bash scripts/apply-manifests.sh --show-etcd-members NODE   # etcdctl member list in NODE's etcd pod
#
#   --pod-subnet CIDR  before anything is created, check that a Calico manifest's IP pool
#                      (CALICO_IPV4POOL_CIDR of calico-node) equals the cluster's podSubnet: unset,
#                      Calico would take 192.168.0.0/16 and pods would not reach each other
#   --wait-ready       then wait until every node is Ready
#   --wait-metrics     then wait until `kubectl top node` answers (metrics-server serving)
#   --expect-node      a node that should be in the cluster; one missing is reported, not waited for
#                      (its own host's install says why it did not join)
#   --timeout          how long the waits may take together (default 300 s); on timeout the nodes
#                      not Ready and kubectl's last answer are shown
#
# `kubectl create` is the guide's command; objects that exist already ("AlreadyExists") are kept as
# they are, so the script is safe to run again.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path finds /etc/kubernetes/admin.conf under /path; kubectl
# is then the lab's stand-in.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
manifests=()
pod_subnet=""
wait_ready=0
wait_metrics=0
expected=()
timeout=300
show_nodes=0
etcd_node=""

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "apply-manifests: $*"; }
die() { echo "apply-manifests: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --manifest) manifests+=("${2:-}"); shift 2 ;;
    --pod-subnet) pod_subnet="${2:-}"; shift 2 ;;
    --wait-ready) wait_ready=1; shift ;;
    --wait-metrics) wait_metrics=1; shift ;;
    --expect-node) expected+=("${2:-}"); shift 2 ;;
    --timeout) timeout="${2:-}"; shift 2 ;;
    --show-nodes) show_nodes=1; shift ;;
    --show-etcd-members) etcd_node="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "apply-manifests: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ ${#manifests[@]} -gt 0 || $wait_ready == 1 || $show_nodes == 1 || -n "$etcd_node" ]] || { echo "apply-manifests: at least one --manifest FILE is required" >&2; usage; }
[[ "$timeout" =~ ^[0-9]+$ ]] || { echo "apply-manifests: --timeout takes seconds, not '$timeout'" >&2; usage; }
[[ -z "$pod_subnet" || "$pod_subnet" =~ ^[0-9a-fA-F.:]+/[0-9]+$ ]] || { echo "apply-manifests: --pod-subnet '$pod_subnet' is not a CIDR" >&2; usage; }

admin="$root/etc/kubernetes/admin.conf"
[[ -f "$admin" ]] || die "$admin is missing: the control plane is not initialised (the init step comes first)"
command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed (the packages step installs it)"
kube() { kubectl --kubeconfig "$admin" "$@"; }
if [[ $show_nodes == 1 ]]; then
  exec kubectl --kubeconfig "$admin" get nodes -o wide
fi
if [[ -n "$etcd_node" ]]; then
  # etcd runs as kubeadm's static pod etcd-NODE; etcdctl in it, with kubeadm's client certificates.
  pki=/etc/kubernetes/pki/etcd
  exec kubectl --kubeconfig "$admin" -n kube-system exec "etcd-$etcd_node" -- etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert="$pki/ca.crt" --cert="$pki/server.crt" --key="$pki/server.key" member list
fi

# CALICO_IPV4POOL_CIDR's value in a manifest: the first uncommented `name: CALICO_IPV4POOL_CIDR`
# and the `value:` after it, quotes removed; empty when the manifest leaves it unset (commented out).
pool_cidr() {
  awk '/^[ \t]*#/ { next }
       /name:[ \t]*"?CALICO_IPV4POOL_CIDR"?[ \t]*$/ { want = 1; next }
       want && /value:/ { sub(/.*value:[ \t]*/, ""); gsub(/["\047 \t]/, ""); print; exit }
       want && /name:/ { exit }' "$1"
}

for m in ${manifests[@]+"${manifests[@]}"}; do
  [[ -f "$m" ]] || die "$m is missing from the bundle"
  if [[ -n "$pod_subnet" ]] && grep -q 'calico-node' "$m"; then
    cidr="$(pool_cidr "$m")"
    [[ -n "$cidr" ]] || die "$m leaves CALICO_IPV4POOL_CIDR unset: Calico would use 192.168.0.0/16, not the cluster's podSubnet $pod_subnet; build the bundle again (the spec's set-env patch sets it)"
    [[ "$cidr" == "$pod_subnet" ]] || die "$m sets Calico's pool to $cidr but the cluster's podSubnet is $pod_subnet; they must be equal (build the bundle with the inventory's podSubnet)"
    say "Calico's IP pool $cidr equals the cluster's podSubnet"
  fi
done

for m in ${manifests[@]+"${manifests[@]}"}; do
  say "kubectl create -f $m"
  if out="$(kube create -f "$m" 2>&1)"; then
    printf '%s\n' "$out"
  else
    printf '%s\n' "$out"
    # Only "already exists" errors: a rerun, or objects created by hand. Anything else fails the step.
    # (No -q after a pipe: an early exit there SIGPIPEs the writer and pipefail turns that into a failure.)
    if grep -q '^Error' <<< "$out" && ! grep '^Error' <<< "$out" | grep -v 'AlreadyExists' >/dev/null; then
      say "$(grep -c '^Error' <<< "$out") object(s) of $m exist already; kept as they are"
    else
      die "kubectl create -f $m failed: $(grep -m1 -E '^(Error|error)' <<< "$out" || tail -n 1 <<< "$out")"
    fi
  fi
done

deadline=$(( $(date +%s) + timeout ))
if [[ $wait_ready == 1 ]]; then
  say "waiting up to ${timeout}s for every node to be Ready"
  while :; do
    nodes="$(kube get nodes --no-headers 2>&1)" || nodes=""
    not_ready="$(awk '$2 != "Ready" { print $1 " (" $2 ")" }' <<< "$nodes")"
    [[ -n "$nodes" && -z "$not_ready" ]] && break
    if [[ $(date +%s) -ge $deadline ]]; then
      echo "apply-manifests: nodes not Ready after ${timeout}s: ${not_ready:-no node answered}" >&2
      kube get nodes -o wide >&2 || true
      exit 1
    fi
    sleep 2
  done
  say "every node Ready: $(awk '{ printf "%s%s", sep, $1; sep = ", " }' <<< "$nodes")"
  missing=()
  for n in ${expected[@]+"${expected[@]}"}; do
    awk -v n="$n" '$1 == n { found = 1 } END { exit !found }' <<< "$nodes" || missing+=("$n")
  done
  [[ ${#missing[@]} -eq 0 ]] || say "not in the cluster (their own install says why): ${missing[*]}"
fi

if [[ $wait_metrics == 1 ]]; then
  say "waiting for kubectl top node (metrics-server)"
  until top="$(kube top node 2>&1)"; do
    if [[ $(date +%s) -ge $deadline ]]; then
      die "kubectl top node still fails after ${timeout}s: $(tail -n 1 <<< "$top")"
    fi
    sleep 2
  done
  printf '%s\n' "$top"
fi
if [[ ${#manifests[@]} -gt 0 ]]; then say "OK: ${manifests[*]##*/} in the cluster"; else say "OK: the cluster is up"; fi
