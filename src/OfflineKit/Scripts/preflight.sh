#!/usr/bin/env bash
# Checks this host can take its part of the cluster before anything on it is changed:
#
#   bash scripts/preflight.sh --role control-plane|worker --os el8 --arch amd64 [--need-mb N] [--journal FILE]
#                             [--require-cgroup-v2] [--address ADDRESS --vip VIP/PREFIX [--vip-unused] [--lb-port PORT]]
#   bash scripts/preflight.sh --facts      # prints product-uuid=…, machine-id=… and clock=… (offlinekit compares hosts)
#
#   - OS family and release from /etc/os-release (EL: CentOS, RHEL, Rocky, Alma, Oracle) match the bundle's
#   - the machine (uname -m) matches the bundle's arch
#   - a control-plane host has at least 2 CPUs and 1700 MB of memory (kubeadm's own minimum)
#   - at least N MB free under /var/lib, where docker and the packages go
#   - the ports kubeadm needs are free: 6443, 2379-2380, 10250-10252 on a control plane, 10250 on a worker
#   - with --require-cgroup-v2 (Kubernetes 1.35+, unless the inventory sets cluster.allowCgroupV1):
#     /sys/fs/cgroup is cgroup v2, which the kubelet needs from 1.35 on
#   - with --vip (a control plane behind keepalived-haproxy or kube-vip): the interface carrying ADDRESS
#     (the inventory's address) is on VIP/PREFIX's subnet, where keepalived or kube-vip adds the VIP;
#     haproxy's PORT (keepalived-haproxy) is free; with --vip-unused (the first control plane, before
#     anything runs that could hold it) nothing holds or answers the VIP yet (no local interface has
#     it, ping gets no reply)
#   - no cluster is installed here already (/etc/kubernetes/admin.conf or kubelet.conf), unless the
#     journal says offlinekit put it there (a rerun resuming its own install)
#
# Every check runs; all failures are listed, then it exits 1. Changes nothing, so it is always safe.
# Distinct machines and clock skew between hosts need every host's answer: offlinekit compares the
# --facts of all hosts itself (the same product_uuid twice fails, as Kubernetes asks for a unique one
# per node; the same machine-id warns; clocks warn at 1 s apart and fail at 30 s).
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path reads /etc/os-release, /etc/kubernetes, /etc/machine-id,
# /sys/class/dmi/id/product_uuid and /var/lib under /path (and /proc/meminfo when /path has one).
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
role=""
os=""
arch=""
need_mb=0
journal=""
facts=0
require_cgroup_v2=0
address=""
vip=""
vip_unused=0
lb_port=""
failures=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "preflight: $*"; }
fail() { failures+=("$*"); echo "preflight: FAIL: $*"; }
ok() { echo "preflight: ok: $*"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --role) role="${2:-}"; shift 2 ;;
    --os) os="${2:-}"; shift 2 ;;
    --arch) arch="${2:-}"; shift 2 ;;
    --need-mb) need_mb="${2:-}"; shift 2 ;;
    --journal) journal="${2:-}"; shift 2 ;;
    --facts) facts=1; shift ;;
    --require-cgroup-v2) require_cgroup_v2=1; shift ;;
    --address) address="${2:-}"; shift 2 ;;
    --vip) vip="${2:-}"; shift 2 ;;
    --vip-unused) vip_unused=1; shift ;;
    --lb-port) lb_port="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "preflight: unknown argument '$1'" >&2; usage ;;
  esac
done

if [[ $facts == 1 ]]; then
  # The DMI product_uuid (root may read it) tells machines apart as Kubernetes does; the clock is read last.
  uuid="$(tr 'A-F' 'a-f' < "$root/sys/class/dmi/id/product_uuid" 2>/dev/null || true)"
  id="$(cat "$root/etc/machine-id" 2>/dev/null || true)"
  echo "product-uuid=${uuid:-unknown}"
  echo "machine-id=${id:-unknown}"
  echo "clock=$(date +%s.%N)"
  exit 0
fi

case "$role" in control-plane|worker) ;; *) echo "preflight: --role is control-plane or worker, not '$role'" >&2; usage ;; esac
[[ "$os" =~ ^el[0-9]+$ ]] || { echo "preflight: --os is el7, el8, …, not '$os'" >&2; usage; }
case "$arch" in amd64|arm64) ;; *) echo "preflight: --arch is amd64 or arm64, not '$arch'" >&2; usage ;; esac
[[ "$need_mb" =~ ^[0-9]+$ ]] || { echo "preflight: --need-mb takes a number of MB, not '$need_mb'" >&2; usage; }

# --- OS family and major release.
os_release="$root/etc/os-release"
if [[ ! -f "$os_release" ]]; then
  fail "no /etc/os-release: cannot tell the OS; the bundle is for ${os^^}"
else
  id="$(. "$os_release"; echo "${ID:-}")"
  like="$(. "$os_release"; echo "${ID_LIKE:-}")"
  version="$(. "$os_release"; echo "${VERSION_ID:-}")"
  pretty="$(. "$os_release"; echo "${PRETTY_NAME:-$id $version}")"
  if [[ " $id $like " != *" rhel "* && " $id $like " != *" centos "* && " $id $like " != *" fedora "* ]]; then
    fail "this is $pretty, not an Enterprise Linux (CentOS, RHEL, Rocky, Alma, Oracle); the bundle is for ${os^^}"
  elif [[ "${version%%.*}" != "${os#el}" ]]; then
    fail "this is $pretty (release ${version%%.*}); the bundle's packages are for ${os^^}: build one with --os el${version%%.*}"
  else
    ok "$pretty"
  fi
fi

# --- arch.
machine="$(uname -m)"
case "$machine" in x86_64) have=amd64 ;; aarch64|arm64) have=arm64 ;; *) have="$machine" ;; esac
if [[ "$have" != "$arch" ]]; then
  fail "this machine is $machine; the bundle is for $arch: build one with --arch $have"
else
  ok "arch $machine"
fi

# --- CPUs and memory: kubeadm's own minimum for a control plane.
if [[ "$role" == control-plane ]]; then
  cpus="$(nproc)"
  if [[ "$cpus" -lt 2 ]]; then fail "$cpus CPU; a control-plane host needs at least 2 (kubeadm's NumCPU check)"; else ok "$cpus CPUs"; fi
  meminfo=/proc/meminfo
  [[ -f "$root/proc/meminfo" ]] && meminfo="$root/proc/meminfo"
  mem_mb=$(( $(awk '/^MemTotal:/ { print $2 }' "$meminfo") / 1024 ))
  if [[ "$mem_mb" -lt 1700 ]]; then fail "$mem_mb MB of memory; a control-plane host needs at least 1700 MB (kubeadm's Mem check)"; else ok "$mem_mb MB of memory"; fi
fi

# --- free disk where docker and the packages go.
if [[ "$need_mb" -gt 0 ]]; then
  dir="$root/var/lib"
  while [[ ! -d "$dir" && "$dir" != / ]]; do dir="$(dirname "$dir")"; done
  free_mb="$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')"
  if [[ "$free_mb" -lt "$need_mb" ]]; then
    fail "$free_mb MB free under /var/lib; the images and packages need about $need_mb MB"
  else
    ok "$free_mb MB free under /var/lib (need about $need_mb)"
  fi
fi

# --- cgroup v2: the kubelet of 1.35 and later refuses to start on cgroup v1 (failCgroupV1).
if [[ $require_cgroup_v2 == 1 ]]; then
  # (The lab's hosts share this machine's kernel: the lab may set its own answer under its root.)
  cgroup_fs="$(cat "$root/sys/fs/cgroup.type" 2>/dev/null || stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)"
  if [[ "$cgroup_fs" == cgroup2fs ]]; then
    ok "cgroup v2"
  else
    fail "this host runs cgroup v1 ($cgroup_fs at /sys/fs/cgroup); Kubernetes 1.35 and later need cgroup v2: boot with systemd.unified_cgroup_hierarchy=1 (EL8: grubby --update-kernel=ALL --args=systemd.unified_cgroup_hierarchy=1), or set cluster.allowCgroupV1: true in the inventory to run on v1 anyway"
  fi
fi

# --- the VIP keepalived or kube-vip moves between the control planes: on this host's subnet, and nobody's yet.
if [[ -n "$vip" ]]; then
  # (The VIP's pattern last: BASH_REMATCH keeps the last match.)
  [[ -n "$address" && ( -z "$lb_port" || "$lb_port" =~ ^[0-9]+$ ) && "$vip" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/([0-9]{1,2})$ ]] \
    || { echo "preflight: --vip takes ADDRESS/PREFIX, with --address ADDRESS (and --lb-port PORT for haproxy)" >&2; usage; }
  vip_address="${BASH_REMATCH[1]}"
  prefix="${BASH_REMATCH[3]}"
  ip4() { local IFS=.; read -r a b c d <<< "$1"; echo $(( (a << 24) | (b << 16) | (c << 8) | d )); }
  network() { echo $(( $(ip4 "$1") & (0xffffffff << (32 - $2)) & 0xffffffff )); }
  read -r interface cidr < <(ip -o -4 addr show 2>/dev/null | awk -v a="$address" '{ split($4, p, "/"); if (p[1] == a) { print $2, $4; exit } }') || true
  if [[ -z "${interface:-}" ]]; then
    fail "no interface of this host carries $address (its inventory address); the load balancer needs it to hold the VIP $vip_address"
  elif [[ "$(network "${cidr%/*}" "$prefix")" != "$(network "$vip_address" "$prefix")" ]]; then
    fail "${interface%%@*} carries $cidr, not on the VIP's subnet $vip (cluster.vipSubnet); keepalived and kube-vip can only move the VIP between hosts of one subnet"
  else
    ok "${interface%%@*} ($cidr) is on the VIP's subnet $vip"
  fi
  if [[ $vip_unused == 1 ]]; then
    if ip -o -4 addr show 2>/dev/null | awk '{ split($4, p, "/"); print p[1] }' | grep -qx "$vip_address"; then
      fail "this host has the VIP $vip_address on an interface already; the VIP must be an address nothing else uses (cluster.controlPlaneEndpoint)"
    elif ! command -v ping >/dev/null 2>&1; then
      say "no ping here: could not check that nothing answers on the VIP $vip_address"
    elif ping -c 2 -W 1 "$vip_address" >/dev/null 2>&1; then
      fail "something answers ping on the VIP $vip_address already; the VIP must be an unused address of the subnet (cluster.controlPlaneEndpoint)"
    else
      ok "nothing answers on the VIP $vip_address"
    fi
  fi
fi

# --- an existing cluster: only offlinekit's own install, resumed, may have one.
resuming=0
if [[ -n "$journal" && -f "$journal" ]] && grep -Eq '"step":"(init|join)","status":"done"' "$journal"; then
  resuming=1
fi
existing=()
for f in etc/kubernetes/admin.conf etc/kubernetes/kubelet.conf; do
  [[ -e "$root/$f" ]] && existing+=("/$f")
done
if [[ ${#existing[@]} -gt 0 && $resuming == 0 ]]; then
  fail "a cluster is installed here already (${existing[*]}); remove it first: offlinekit reset, or kubeadm reset -f"
elif [[ ${#existing[@]} -gt 0 ]]; then
  ok "the cluster here is offlinekit's own (journal); resuming"
else
  ok "no cluster installed yet"
fi

# --- ports: free, unless this is offlinekit's own cluster resumed (then kubernetes holds them).
if [[ $resuming == 0 ]]; then
  ports=(10250)
  [[ "$role" == control-plane ]] && ports=(6443 2379 2380 10250 10251 10252)
  [[ -n "$lb_port" ]] && ports+=("$lb_port")
  if command -v ss >/dev/null 2>&1; then
    listening="$(ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)"
  else
    # No iproute: the kernel's own table (local port is hex after the colon; state 0A is LISTEN).
    listening="$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' | sort -u)"
  fi
  busy=()
  for p in "${ports[@]}"; do
    grep -qx "$p" <<< "$listening" && busy+=("$p")
  done
  if [[ ${#busy[@]} -gt 0 ]]; then
    fail "port ${busy[*]} in use; kubernetes needs ${ports[*]} free (ss -tlnp shows which process holds it)"
  else
    ok "ports ${ports[*]} free"
  fi
fi

if [[ ${#failures[@]} -gt 0 ]]; then
  echo "preflight: ${#failures[@]} check(s) failed:" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
say "OK: this host can be a $role"
