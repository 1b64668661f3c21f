#!/usr/bin/env bash
# Time sync for an air-gapped cluster (the guide's 七、所有节点配置时间同步), with chrony:
#
#   bash scripts/configure-time.sh --serve [--allow ADDRESS|CIDR]... [--upstream SERVER]...   # control plane
#   bash scripts/configure-time.sh --server ADDRESS                                          # workers
#
#   --serve    this host is the cluster's clock: `local stratum 10` (it serves its own time when no
#              upstream answers, as on a site with no NTP at all), `allow` for each cluster host, and
#              the site's own NTP servers (--upstream, from the inventory's cluster.ntpServers) if any
#   --server   this host follows the control plane: `server ADDRESS iburst` and nothing else
#
# /etc/chrony.conf is replaced (the original kept once as /etc/chrony.conf.offlinekit-orig, which
# offlinekit reset puts back); chronyd is enabled and restarted when the file changed. The new file
# is checked with `chronyd -p -f` (chrony 4) before it replaces the old one.
# Safe to run again: the same settings change nothing.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path writes /path/etc/chrony.conf; systemctl and chronyd
# are then the lab's stand-ins.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
serve=0
server=""
allow=()
upstream=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "configure-time: $*"; }
die() { echo "configure-time: $*" >&2; exit 1; }
address() { [[ "$1" =~ ^[A-Za-z0-9.:-]+(/[0-9]+)?$ ]]; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --serve) serve=1; shift ;;
    --server) server="${2:-}"; shift 2 ;;
    --allow) allow+=("${2:-}"); shift 2 ;;
    --upstream) upstream+=("${2:-}"); shift 2 ;;
    -h|--help) usage ;;
    *) echo "configure-time: unknown argument '$1'" >&2; usage ;;
  esac
done
if [[ $serve == 1 && -n "$server" ]] || [[ $serve == 0 && -z "$server" ]]; then
  echo "configure-time: give --serve (the control plane) or --server ADDRESS (a worker)" >&2; usage
fi
for a in ${server:+"$server"} ${allow[@]+"${allow[@]}"} ${upstream[@]+"${upstream[@]}"}; do
  address "$a" || die "'$a' is not a host name, address or CIDR"
done
command -v chronyd >/dev/null 2>&1 || die "chrony is not installed (the packages step installs it)"

conf="$root/etc/chrony.conf"
new="$(
  if [[ $serve == 1 ]]; then
    echo "# Written by offlinekit configure-time.sh: this host is the cluster's clock (an air-gapped site"
    echo "# has no outside NTP); the other hosts follow it."
    for u in ${upstream[@]+"${upstream[@]}"}; do echo "server $u iburst"; done
    echo "local stratum 10"
    for a in ${allow[@]+"${allow[@]}"}; do echo "allow $a"; done
  else
    echo "# Written by offlinekit configure-time.sh: this host follows the cluster's clock, the control plane."
    echo "server $server iburst"
  fi
  echo "driftfile /var/lib/chrony/drift"
  echo "makestep 1.0 3"
  echo "rtcsync"
  echo "logdir /var/log/chrony"
)"

changed=0
if [[ -f "$conf" ]] && [[ "$(cat "$conf")" == "$new" ]]; then
  say "/etc/chrony.conf already says this"
else
  mkdir -p "$(dirname "$conf")"
  tmp="$(mktemp "$conf.offlinekit.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  printf '%s\n' "$new" > "$tmp"
  # chrony 4 checks a file with -p; chrony 3 has no -p and the check is skipped.
  if ! check="$(chronyd -p -f "$tmp" 2>&1)"; then
    grep -qiE 'invalid option|unknown option|usage' <<< "$check" || die "chronyd rejects the new configuration: $(tail -n 1 <<< "$check")"
  fi
  if [[ -f "$conf" && ! -e "$conf.offlinekit-orig" ]]; then
    cp -p "$conf" "$conf.offlinekit-orig"
  fi
  chmod 0644 "$tmp"
  mv "$tmp" "$conf"
  changed=1
  say "wrote /etc/chrony.conf ($([[ $serve == 1 ]] && echo "serving ${allow[*]:-no one}" || echo "following $server"))"
fi

systemctl is-enabled --quiet chronyd 2>/dev/null || { systemctl enable chronyd; say "chronyd enabled"; }
if [[ $changed == 1 ]] || ! systemctl is-active --quiet chronyd 2>/dev/null; then
  systemctl restart chronyd || die "systemctl restart chronyd failed"
  say "chronyd restarted"
fi
say "OK: time $([[ $serve == 1 ]] && echo served to the cluster || echo "from $server")"
