#!/usr/bin/env bash
# Prepares this host for kubeadm, as the guide does by hand (四、1 基础环境; 五、基础配置):
#
#   bash scripts/prepare-host.sh --hostname k8s-master \
#       --host 192.168.10.101=k8s-master --host 192.168.10.102=k8s-node01 --host 192.168.10.103=k8s-node02
#   bash scripts/prepare-host.sh --hostname k8s-node01 --hosts-file FILE   # the same, one ADDRESS=NAME a line
#
#   - firewalld stopped and disabled (when it is installed)
#   - SELinux permissive now (setenforce 0) and at boot (SELINUX=permissive in /etc/selinux/config)
#   - swap off now (swapoff -a) and at boot (swap lines of /etc/fstab commented out)
#   - overlay and br_netfilter loaded now (modprobe) and at boot (/etc/modules-load.d/k8s.conf)
#   - net.ipv4.ip_forward=1, net.bridge.bridge-nf-call-iptables=1 and -ip6tables=1 in
#     /etc/sysctl.d/k8s.conf, applied now (sysctl -p)
#   - the hostname (hostnamectl set-hostname)
#   - every cluster host in /etc/hosts, between "# BEGIN offlinekit" and "# END offlinekit": that
#     block is rewritten on every run, never added twice; the rest of the file is left alone
#
# Safe to run again: each part checks first and says "already" when there is nothing to do.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path reads and writes every file above (and /proc/sys,
# /proc/swaps, /sys/module) under /path instead of /. It is only for the lab, where the tools that
# need a real systemd host (systemctl, setenforce, getenforce, modprobe, sysctl, swapoff,
# hostnamectl) are stand-ins first on PATH; with OFFLINEKIT_ROOT set the script refuses to run a tool
# that is not such a stand-in, so a test can never change the machine it runs on.
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
hostname=""
hosts=()
changes=0

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "prepare-host: $*"; }
die() { echo "prepare-host: $*" >&2; exit 1; }
changed() { changes=$((changes + 1)); say "$*"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --hostname) hostname="${2:-}"; shift 2 ;;
    --host) hosts+=("${2:-}"); shift 2 ;;
    --hosts-file)
      [[ -f "${2:-}" ]] || die "--hosts-file '${2:-}' is not a file"
      while IFS= read -r line || [[ -n "$line" ]]; do
        [[ -n "$line" ]] && hosts+=("$line")
      done < "$2"
      shift 2 ;;
    -h|--help) usage ;;
    *) echo "prepare-host: unknown argument '$1'" >&2; usage ;;
  esac
done

# A hostname kubelet accepts: RFC 1123 labels, lower case.
valid_name() { [[ "$1" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$ ]]; }
[[ -n "$hostname" ]] || { echo "prepare-host: --hostname NAME is required" >&2; usage; }
valid_name "$hostname" || die "--hostname '$hostname' is not a valid host name (lower-case letters, digits, '-' and '.')"
[[ ${#hosts[@]} -gt 0 ]] || { echo "prepare-host: at least one --host ADDRESS=NAME is required" >&2; usage; }
for h in "${hosts[@]}"; do
  [[ "$h" == *=* ]] || die "--host '$h' is not ADDRESS=NAME"
  [[ "${h%%=*}" =~ ^[0-9A-Fa-f.:]+$ ]] || die "--host '$h': '${h%%=*}' is not an IP address"
  valid_name "${h#*=}" || die "--host '$h': '${h#*=}' is not a valid host name"
done

if [[ -n "$root" ]]; then
  [[ "$root" == /* && -d "$root" ]] || die "OFFLINEKIT_ROOT must be an existing absolute folder, not '$root'"
  for tool in systemctl setenforce getenforce modprobe sysctl swapoff hostnamectl; do
    path="$(command -v "$tool" 2>/dev/null)" || die "lab mode: the stand-in '$tool' is not on PATH"
    grep -q 'offlinekit lab stand-in' "$path" 2>/dev/null \
      || die "lab mode (OFFLINEKIT_ROOT=$root) but $path is not an offlinekit lab stand-in; refusing to change this machine"
  done
  say "lab mode: files under $root, system tools from $(dirname "$(command -v systemctl)")"
fi

# Writes $2 to $1 unless it already holds exactly that; returns 1 when nothing changed. The file is
# rewritten in place (cat >), so its owner, mode and SELinux label stay.
write_file() {
  local path="$1" content="$2"
  if [[ -f "$path" ]] && [[ "$(cat "$path"; echo x)" == "${content}x" ]]; then
    return 1
  fi
  mkdir -p "$(dirname "$path")"
  local tmp
  tmp="$(mktemp "$path.offlinekit.XXXXXX")"
  printf '%s' "$content" > "$tmp"
  if [[ -f "$path" ]]; then cat "$tmp" > "$path"; rm -f "$tmp"; else chmod 0644 "$tmp"; mv "$tmp" "$path"; fi
}

# --- firewalld: kubeadm needs 6443, 10250 and the CNI's traffic open; the guide turns it off.
if systemctl is-active --quiet firewalld 2>/dev/null; then
  systemctl stop firewalld || die "systemctl stop firewalld failed"
  changed "firewalld stopped"
fi
if systemctl is-enabled --quiet firewalld 2>/dev/null; then
  systemctl disable firewalld || die "systemctl disable firewalld failed"
  changed "firewalld disabled"
fi

# --- SELinux permissive, now and at boot (a host without SELinux has no /etc/selinux/config).
if command -v getenforce >/dev/null 2>&1 && [[ "$(getenforce)" == Enforcing ]]; then
  setenforce 0 || die "setenforce 0 failed"
  changed "SELinux set to permissive now (setenforce 0)"
fi
selinux_config="$root/etc/selinux/config"
if [[ -f "$selinux_config" ]]; then
  if grep -q '^SELINUX=enforcing' "$selinux_config"; then
    write_file "$selinux_config" "$(sed 's/^SELINUX=enforcing/SELINUX=permissive/' "$selinux_config")
" || true
    changed "SELINUX=permissive in /etc/selinux/config"
  fi
fi

# --- swap off: kubelet refuses to start with swap on.
swaps="$root/proc/swaps"
if [[ -f "$swaps" ]] && [[ "$(tail -n +2 "$swaps" | grep -c .)" -gt 0 ]]; then
  swapoff -a || die "swapoff -a failed"
  changed "swap turned off (swapoff -a)"
fi
fstab="$root/etc/fstab"
if [[ -f "$fstab" ]] && awk '!/^[ \t]*#/ && $3 == "swap" { found = 1 } END { exit !found }' "$fstab"; then
  write_file "$fstab" "$(awk '!/^[ \t]*#/ && $3 == "swap" { print "#" $0; next } { print }' "$fstab")
" || true
  changed "swap lines of /etc/fstab commented out"
fi

# --- kernel modules: overlay for docker's storage, br_netfilter so bridged traffic meets iptables.
for module in overlay br_netfilter; do
  if [[ ! -d "$root/sys/module/$module" ]]; then
    modprobe "$module" || die "modprobe $module failed: the kernel has no $module module"
    changed "module $module loaded"
  fi
done
write_file "$root/etc/modules-load.d/k8s.conf" $'# Written by offlinekit prepare-host.sh: modules kubeadm needs, loaded at boot.\noverlay\nbr_netfilter\n' \
  && changed "wrote /etc/modules-load.d/k8s.conf (overlay, br_netfilter at boot)"

# --- sysctl, persisted and applied.
sysctls=(net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1)
sysctl_file="$root/etc/sysctl.d/k8s.conf"
if write_file "$sysctl_file" "# Written by offlinekit prepare-host.sh: the guide's kernel parameters for docker and kubernetes.
$(printf '%s\n' "${sysctls[@]}")
"; then
  changed "wrote /etc/sysctl.d/k8s.conf"
fi
apply=0
for kv in "${sysctls[@]}"; do
  key="${kv%%=*}"
  current="$(cat "$root/proc/sys/${key//.//}" 2>/dev/null || true)"
  [[ "$current" == "${kv#*=}" ]] || apply=1
done
if [[ $apply == 1 ]]; then
  sysctl -p "$sysctl_file" >/dev/null || die "sysctl -p $sysctl_file failed"
  changed "applied ${sysctls[*]}"
fi

# --- hostname.
if [[ "$(hostnamectl --static 2>/dev/null || true)" != "$hostname" ]]; then
  hostnamectl set-hostname "$hostname" || die "hostnamectl set-hostname $hostname failed"
  changed "hostname set to $hostname"
fi

# --- /etc/hosts: the cluster's block between the markers, replaced whole; the rest kept.
etc_hosts="$root/etc/hosts"
begin="# BEGIN offlinekit (cluster hosts; rewritten by prepare-host.sh)"
end="# END offlinekit"
if [[ -f "$etc_hosts" ]]; then
  begins="$(grep -c '^# BEGIN offlinekit' "$etc_hosts" || true)"
  ends="$(grep -c '^# END offlinekit' "$etc_hosts" || true)"
  [[ "$begins" == "$ends" && "$begins" -le 1 ]] \
    || die "$etc_hosts has $begins '# BEGIN offlinekit' and $ends '# END offlinekit' lines; fix it by hand (one block or none)"
  rest="$(awk '/^# BEGIN offlinekit/ { skip = 1; next } /^# END offlinekit/ { skip = 0; next } !skip' "$etc_hosts")"
else
  rest=""
fi
block="$begin"$'\n'
for h in "${hosts[@]}"; do
  block+="${h%%=*} ${h#*=}"$'\n'
done
block+="$end"$'\n'
if [[ -n "$rest" ]]; then new_hosts="$rest"$'\n'"$block"; else new_hosts="$block"; fi
write_file "$etc_hosts" "$new_hosts" && changed "wrote the offlinekit block of /etc/hosts (${#hosts[@]} hosts)"

if [[ $changes -eq 0 ]]; then
  say "already prepared; nothing to do"
else
  say "OK: host $hostname prepared ($changes changes)"
fi
