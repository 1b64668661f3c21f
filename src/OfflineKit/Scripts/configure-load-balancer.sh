#!/usr/bin/env bash
# Sets up this control plane's part of the load balancer in front of the API servers
# (cluster.loadBalancer: keepalived-haproxy, the guide's Haproxy+Keepalived):
#
#   bash scripts/configure-load-balancer.sh --haproxy-config FILE --keepalived-config FILE \
#        --check-script FILE --address ADDRESS --vip VIP/PREFIX
#   bash scripts/configure-load-balancer.sh --kube-vip-manifest FILE --address ADDRESS --vip VIP/PREFIX
#                  # cluster.loadBalancer: kube-vip: FILE becomes /etc/kubernetes/manifests/kube-vip.yaml
#   bash scripts/configure-load-balancer.sh --kube-vip-kubeconfig /etc/kubernetes/admin.conf
#                  # after kubeadm init (1.29+): kube-vip from super-admin.conf to admin.conf (kube-vip#684)
#   bash scripts/configure-load-balancer.sh --status --vip VIP/PREFIX (--lb-port PORT | --kube-vip)
#                  # offlinekit status: whether this host holds the VIP, its API server answers, haproxy
#                  # listens (or kube-vip's manifest is in place, and with which kubeconfig)
#
#   - <interface> in the keepalived config becomes the interface carrying ADDRESS (this host's
#     inventory address), where keepalived adds the VIP (preflight checked it is on VIP/PREFIX's subnet)
#   - keepalived's check (FILE) goes to /etc/keepalived/offlinekit-check-apiserver.sh, root's, 0755
#   - each config is checked with the real tool before it replaces the one in /etc (haproxy -c -f,
#     keepalived --config-test -f); one that fails leaves /etc as it was and the step fails with the
#     tool's own words. The originals are kept once as *.offlinekit-orig (offlinekit reset puts them back).
#   - haproxy and keepalived enabled, and restarted when their config changed
# haproxy listens on its own port (8443 unless the endpoint says otherwise), never 6443: the API server
# binds 6443 on every address of this host, the VIP included.
# kube-vip: <interface> in FILE becomes the interface carrying ADDRESS; the kubelet runs the static pod
# (kubeadm starts it), and the control planes' kube-vips elect the one that holds the VIP. On a host
# whose control plane is up already (kube-apiserver.yaml is there) the manifest gets admin.conf even if
# FILE names super-admin.conf, which only kubeadm init needs.
# Safe to run again: unchanged configs restart nothing; an unchanged manifest is not rewritten.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path writes under /path (the tested keepalived config names
# the check script there); systemctl is then the lab's stand-in, haproxy and keepalived the machine's.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
haproxy_in=""
keepalived_in=""
check_in=""
address=""
vip=""
status=0
lb_port=""
kube_vip_manifest=""
kube_vip_kubeconfig=""
kube_vip_status=0

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "configure-load-balancer: $*"; }
die() { echo "configure-load-balancer: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --haproxy-config) haproxy_in="${2:-}"; shift 2 ;;
    --keepalived-config) keepalived_in="${2:-}"; shift 2 ;;
    --check-script) check_in="${2:-}"; shift 2 ;;
    --address) address="${2:-}"; shift 2 ;;
    --vip) vip="${2:-}"; shift 2 ;;
    --status) status=1; shift ;;
    --lb-port) lb_port="${2:-}"; shift 2 ;;
    --kube-vip-manifest) kube_vip_manifest="${2:-}"; shift 2 ;;
    --kube-vip-kubeconfig) kube_vip_kubeconfig="${2:-}"; shift 2 ;;
    --kube-vip) kube_vip_status=1; shift ;;
    -h|--help) usage ;;
    *) echo "configure-load-balancer: unknown argument '$1'" >&2; usage ;;
  esac
done
kube_vip="$root/etc/kubernetes/manifests/kube-vip.yaml"
if [[ $status == 1 ]]; then
  [[ ( "$lb_port" =~ ^[0-9]+$ || $kube_vip_status == 1 ) && "$vip" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/[0-9]{1,2}$ ]] || { echo "configure-load-balancer: --status needs --vip VIP/PREFIX and --lb-port PORT or --kube-vip" >&2; usage; }
  vip_address="${BASH_REMATCH[1]}"
  held="not on this host"
  ip -o -4 addr show 2>/dev/null | awk '{ split($4, p, "/"); print p[1] }' | grep -qx "$vip_address" && held="held by this host"
  api="not answering"
  curl -sfk --max-time 2 https://127.0.0.1:6443/healthz -o /dev/null 2>/dev/null && api="ok"
  if [[ $kube_vip_status == 1 ]]; then
    kubeconfig="$(awk '$1 == "path:" { print $2; exit }' "$kube_vip" 2>/dev/null || true)"
    balancer="kube-vip: no manifest in /etc/kubernetes/manifests"
    [[ -f "$kube_vip" ]] && balancer="kube-vip: /etc/kubernetes/manifests/kube-vip.yaml, kubeconfig ${kubeconfig:-none}"
    echo "vip $vip_address: $held; kube-apiserver :6443/healthz: $api; $balancer"
    exit 0
  fi
  listening="not listening"
  ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | grep -qx "$lb_port" && listening="listening"
  echo "vip $vip_address: $held; kube-apiserver :6443/healthz: $api; haproxy :$lb_port: $listening"
  exit 0
fi

# The interface the VIP goes on: the one carrying this host's address.
interface_of() {
  local cidr
  read -r interface cidr < <(ip -o -4 addr show | awk -v a="$1" '{ split($4, p, "/"); if (p[1] == a) { print $2, $4; exit } }') || true
  [[ -n "${interface:-}" ]] || die "no interface of this host carries $1 (the inventory's address); the VIP goes on that interface"
  interface="${interface%%@*}"
  say "the VIP $vip goes on $interface ($cidr)"
}

if [[ -n "$kube_vip_kubeconfig" ]]; then
  [[ "$kube_vip_kubeconfig" == /etc/kubernetes/*.conf ]] || die "--kube-vip-kubeconfig takes a kubeconfig under /etc/kubernetes, not '$kube_vip_kubeconfig'"
  [[ -f "$kube_vip" ]] || die "/etc/kubernetes/manifests/kube-vip.yaml is missing: the load-balancer step writes it before kubeadm init; run the install again"
  [[ -f "$root$kube_vip_kubeconfig" ]] || die "$kube_vip_kubeconfig is missing: kubeadm init writes it; kube-vip would lose its kubeconfig"
  if grep -qE "^ *path: $kube_vip_kubeconfig\$" "$kube_vip"; then
    say "kube-vip runs with $kube_vip_kubeconfig already"
    exit 0
  fi
  # The kubelet sees the manifest change and restarts kube-vip with the other kubeconfig (the mount point inside stays admin.conf).
  sed -E "s#^( *path: )/etc/kubernetes/[a-z-]+\.conf\$#\1$kube_vip_kubeconfig#" "$kube_vip" > "$kube_vip.offlinekit-new"
  chmod 0600 "$kube_vip.offlinekit-new"
  mv -f "$kube_vip.offlinekit-new" "$kube_vip"
  say "OK: kube-vip runs with $kube_vip_kubeconfig (the kubelet restarts it)"
  exit 0
fi

if [[ -n "$kube_vip_manifest" ]]; then
  [[ -n "$address" && "$vip" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/([0-9]{1,2})$ ]] || { echo "configure-load-balancer: --kube-vip-manifest needs --address ADDRESS and --vip VIP/PREFIX" >&2; usage; }
  vip_address="${BASH_REMATCH[1]}"
  [[ -f "$kube_vip_manifest" ]] || die "$kube_vip_manifest is missing: offlinekit writes it just before this step; run the install again"
  interface_of "$address"
  work="$(mktemp -d)"
  trap 'rm -rf -- "$work"' EXIT
  sed "s/<interface>/$interface/" "$kube_vip_manifest" > "$work/kube-vip.yaml"
  # super-admin.conf is for kubeadm init only: a control plane that is up already runs kube-vip with admin.conf.
  if [[ -f "$root/etc/kubernetes/manifests/kube-apiserver.yaml" ]]; then
    sed -i -E 's#^( *path: )/etc/kubernetes/super-admin\.conf$#\1/etc/kubernetes/admin.conf#' "$work/kube-vip.yaml"
  fi
  install -d -m 0755 "$root/etc/kubernetes/manifests"
  if [[ -f "$kube_vip" && "$(sha256sum < "$work/kube-vip.yaml")" == "$(sha256sum < "$kube_vip")" ]]; then
    say "OK: /etc/kubernetes/manifests/kube-vip.yaml is in place already"
    exit 0
  fi
  install -m 0600 "$work/kube-vip.yaml" "$kube_vip"
  say "wrote /etc/kubernetes/manifests/kube-vip.yaml ($(awk '$1 == "image:" { print $2; exit }' "$kube_vip"), kubeconfig $(awk '$1 == "path:" { print $2; exit }' "$kube_vip"))"
  say "OK: the kubelet runs kube-vip once kubeadm starts it; the control planes' kube-vips elect the one holding the VIP $vip_address"
  exit 0
fi

[[ -n "$haproxy_in" && -n "$keepalived_in" && -n "$check_in" && -n "$address" && -n "$vip" ]] \
  || { echo "configure-load-balancer: --haproxy-config, --keepalived-config, --check-script, --address and --vip are required" >&2; usage; }
[[ "$vip" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/([0-9]{1,2})$ ]] || die "--vip takes ADDRESS/PREFIX, not '$vip'"
vip_address="${BASH_REMATCH[1]}"
for f in "$haproxy_in" "$keepalived_in" "$check_in"; do
  [[ -f "$f" ]] || die "$f is missing: offlinekit writes it just before this step; run the install again"
done
command -v haproxy >/dev/null 2>&1 || die "haproxy is not installed (the packages step installs it on the control planes of a keepalived-haproxy inventory, from the bundle's RPMs; a 1.23 bundle carries them when built with --with load-balancer)"
command -v keepalived >/dev/null 2>&1 || die "keepalived is not installed (the packages step installs it on the control planes of a keepalived-haproxy inventory, from the bundle's RPMs; a 1.23 bundle carries them when built with --with load-balancer)"

interface_of "$address"

check="$root/etc/keepalived/offlinekit-check-apiserver.sh"
install -d -m 0755 "$root/etc/haproxy" "$root/etc/keepalived"
if [[ ! -f "$check" || "$(sha256sum < "$check_in")" != "$(sha256sum < "$check")" ]]; then
  install -m 0755 "$check_in" "$check"
  say "wrote /etc/keepalived/offlinekit-check-apiserver.sh"
fi

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT
sed "s/<interface>/$interface/" "$keepalived_in" > "$work/keepalived.conf"
cp "$haproxy_in" "$work/haproxy.cfg"
# What keepalived is asked to test names the check script where it is (under the lab's root, in the lab).
sed "s|\"/etc/keepalived/offlinekit-check-apiserver.sh\"|\"$check\"|" "$work/keepalived.conf" > "$work/keepalived.test.conf"

haproxy -c -f "$work/haproxy.cfg" > "$work/haproxy.out" 2>&1 \
  || { cat "$work/haproxy.out" >&2; die "haproxy -c rejects the haproxy config (above); /etc/haproxy/haproxy.cfg is left as it was"; }
say "haproxy -c: the config is valid"
keepalived --config-test -f "$work/keepalived.test.conf" > "$work/keepalived.out" 2>&1 \
  || { cat "$work/keepalived.out" >&2; die "keepalived --config-test rejects the keepalived config (above); /etc/keepalived/keepalived.conf is left as it was"; }
say "keepalived --config-test: the config is valid"

# Each config in place (the original kept once), and its service enabled and restarted if it changed.
for pair in "haproxy:$work/haproxy.cfg:/etc/haproxy/haproxy.cfg" "keepalived:$work/keepalived.conf:/etc/keepalived/keepalived.conf"; do
  IFS=: read -r service new target <<< "$pair"
  conf="$root$target"
  changed=0
  if [[ ! -f "$conf" || "$(sha256sum < "$new")" != "$(sha256sum < "$conf")" ]]; then
    if [[ -f "$conf" && ! -e "$conf.offlinekit-orig" ]] && ! grep -q 'written by offlinekit' "$conf"; then
      cp -p "$conf" "$conf.offlinekit-orig"
    fi
    install -m 0644 "$new" "$conf"
    changed=1
    say "wrote $target"
  fi
  systemctl is-enabled --quiet "$service" 2>/dev/null || { systemctl enable "$service"; say "$service enabled"; }
  if [[ $changed == 1 ]] || ! systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl restart "$service" || die "systemctl restart $service failed (journalctl -u $service says why)"
    say "$service (re)started"
  fi
done
say "OK: haproxy on this host balances the API servers; keepalived holds the VIP ${vip_address} on the healthiest control plane"
