#!/usr/bin/env bash
# Sets up this control plane's part of the load balancer in front of the API servers
# (cluster.loadBalancer: keepalived-haproxy, the guide's Haproxy+Keepalived):
#
#   bash scripts/configure-load-balancer.sh --haproxy-config FILE --keepalived-config FILE \
#        --check-script FILE --address ADDRESS --vip VIP/PREFIX
#   bash scripts/configure-load-balancer.sh --status --vip VIP/PREFIX --lb-port PORT
#                  # offlinekit status: whether this host holds the VIP, its API server answers, haproxy listens
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
# Safe to run again: unchanged configs restart nothing.
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
    -h|--help) usage ;;
    *) echo "configure-load-balancer: unknown argument '$1'" >&2; usage ;;
  esac
done
if [[ $status == 1 ]]; then
  [[ "$lb_port" =~ ^[0-9]+$ && "$vip" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/[0-9]{1,2}$ ]] || { echo "configure-load-balancer: --status needs --vip VIP/PREFIX and --lb-port PORT" >&2; usage; }
  vip_address="${BASH_REMATCH[1]}"
  held="not on this host"
  ip -o -4 addr show 2>/dev/null | awk '{ split($4, p, "/"); print p[1] }' | grep -qx "$vip_address" && held="held by this host"
  api="not answering"
  curl -sfk --max-time 2 https://127.0.0.1:6443/healthz -o /dev/null 2>/dev/null && api="ok"
  listening="not listening"
  ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | grep -qx "$lb_port" && listening="listening"
  echo "vip $vip_address: $held; kube-apiserver :6443/healthz: $api; haproxy :$lb_port: $listening"
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

# The interface keepalived puts the VIP on: the one carrying this host's address.
read -r interface cidr < <(ip -o -4 addr show | awk -v a="$address" '{ split($4, p, "/"); if (p[1] == a) { print $2, $4; exit } }') || true
[[ -n "${interface:-}" ]] || die "no interface of this host carries $address (the inventory's address); keepalived needs it to hold the VIP"
interface="${interface%%@*}"
say "the VIP $vip goes on $interface ($cidr)"

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
