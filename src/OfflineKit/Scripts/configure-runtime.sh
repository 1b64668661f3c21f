#!/usr/bin/env bash
# Configures and starts the container runtime for kubelet, as the guide does by hand (四、3-4;
# 五、systemctl enable kubelet):
#
#   bash scripts/configure-runtime.sh [--registry-mirror URL]... [--insecure-registry HOST]... [--site-dir DIR]   # docker
#   bash scripts/configure-runtime.sh --runtime containerd --show-config
#   bash scripts/configure-runtime.sh --runtime containerd --site-dir DIR
#
# docker (the guide's runtime, Kubernetes 1.23):
#   - /etc/docker/daemon.json gets "exec-opts": ["native.cgroupdriver=systemd"] (kubelet 1.23 and
#     docker must agree on the systemd cgroup driver) and the given registry mirrors and insecure
#     registries. An existing daemon.json is MERGED, not replaced: its other keys stay, the lists
#     keep their entries and gain the missing ones, another native.cgroupdriver entry is replaced.
#   - --site-dir DIR: DIR/docker/certs.d/<registry>/ca.crt under /etc/docker/certs.d, and the logins
#     of DIR/docker/config.json merged into root's docker config (0600; offlinekit writes both)
#   - docker enabled and started (restarted when daemon.json changed while it ran)
# containerd (Kubernetes 1.24 and later):
#   - --show-config prints `containerd config default` and the current /etc/containerd/config.toml,
#     for offlinekit to merge (hosts have no TOML parser; offlinekit has a real one)
#   - --site-dir DIR puts what offlinekit rendered there in place: DIR/containerd/config.toml as
#     /etc/containerd/config.toml (the first file replaced is kept as config.toml.offlinekit-orig),
#     DIR/containerd/certs.d/*/ under /etc/containerd/certs.d (a file offlinekit wrote private, a
#     hosts.toml with a registry's credential, stays 0600), DIR/crictl.yaml as /etc/crictl.yaml;
#     each only when it differs, each replaced in one rename; containerd restarted only when its
#     config.toml changed while it ran
#   - containerd enabled and started
# both:
#   - kubelet enabled (it starts for real only after kubeadm init or join)
#
# The docker merge is done by the Python every EL host has (dnf/yum are written in it: EL8's
# /usr/libexec/platform-python, EL7's python2), so no jq or other package is needed.
# Safe to run again: when everything is in place and the services are enabled, it says so and
# changes nothing.
#
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path writes /path/etc/..., and systemctl must then be the
# lab's stand-in (see prepare-host.sh).
set -euo pipefail

root="${OFFLINEKIT_ROOT:-}"
mirrors=()
insecure=()
changes=0
runtime=docker
show_config=0
site_dir=""

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "configure-runtime: $*"; }
die() { echo "configure-runtime: $*" >&2; exit 1; }
changed() { changes=$((changes + 1)); say "$*"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --registry-mirror) [[ "${2:-}" =~ ^https?://[^[:space:]]+$ ]] || die "--registry-mirror '${2:-}' is not an http(s) URL"; mirrors+=("$2"); shift 2 ;;
    --insecure-registry) [[ "${2:-}" =~ ^[A-Za-z0-9.:/-]+$ ]] || die "--insecure-registry '${2:-}' is not a host[:port] or CIDR"; insecure+=("$2"); shift 2 ;;
    --runtime) runtime="${2:-}"; shift 2 ;;
    --show-config) show_config=1; shift ;;
    --site-dir) site_dir="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "configure-runtime: unknown argument '$1'" >&2; usage ;;
  esac
done

if [[ -n "$root" ]]; then
  [[ "$root" == /* && -d "$root" ]] || die "OFFLINEKIT_ROOT must be an existing absolute folder, not '$root'"
  grep -q 'offlinekit lab stand-in' "$(command -v systemctl 2>/dev/null || echo /nonexistent)" 2>/dev/null \
    || die "lab mode (OFFLINEKIT_ROOT=$root) but systemctl is not an offlinekit lab stand-in; refusing to change this machine"
  say "lab mode: files under $root"
fi

# docker: daemon.json merged by the host's Python (the heredoc keeps its text at column 0).
configure_docker() {
python=""
for p in /usr/libexec/platform-python python3 python2 python; do
  if command -v "$p" >/dev/null 2>&1; then python="$p"; break; fi
done
[[ -n "$python" ]] || die "no Python on this host (EL8: /usr/libexec/platform-python, EL7: python2) to merge daemon.json"

daemon_json="$root/etc/docker/daemon.json"
mkdir -p "$(dirname "$daemon_json")"
tmp="$(mktemp "$daemon_json.offlinekit.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

# Prints the merged file to stdout; the arguments are the mirrors, "--", the insecure registries.
"$python" - "$daemon_json" ${mirrors[@]+"${mirrors[@]}"} -- ${insecure[@]+"${insecure[@]}"} > "$tmp" <<'PY' || die "cannot merge $daemon_json (see the message above); fix or remove it and run again"
import io, json, os, sys
from collections import OrderedDict

path = sys.argv[1]
rest = sys.argv[2:]
split = rest.index("--")
mirrors, insecure = rest[:split], rest[split + 1:]

config = OrderedDict()
if os.path.exists(path):
    text = io.open(path, encoding="utf-8").read()
    if text.strip():
        try:
            config = json.loads(text, object_pairs_hook=OrderedDict)
        except ValueError as e:
            sys.stderr.write("configure-runtime: %s is not valid JSON: %s\n" % (path, e))
            sys.exit(1)
        if not isinstance(config, dict):
            sys.stderr.write("configure-runtime: %s is not a JSON object\n" % path)
            sys.exit(1)

def merge(key, wanted, replace_prefix=None):
    current = config.get(key, [])
    if not isinstance(current, list):
        sys.stderr.write("configure-runtime: \"%s\" in %s is not a list\n" % (key, path))
        sys.exit(1)
    if replace_prefix:
        current = [v for v in current if not (isinstance(v, str) and v.startswith(replace_prefix) and v not in wanted)]
    for v in wanted:
        if v not in current:
            current.append(v)
    if current or key in config:
        config[key] = current

merge("exec-opts", ["native.cgroupdriver=systemd"], replace_prefix="native.cgroupdriver=")
merge("registry-mirrors", mirrors)
merge("insecure-registries", insecure)
out = json.dumps(config, indent=2, separators=(",", ": "))
sys.stdout.write(out + "\n")
PY

if [[ -f "$daemon_json" ]] && cmp -s "$tmp" "$daemon_json"; then
  say "/etc/docker/daemon.json already has the systemd cgroup driver and the inventory's registries"
else
  if [[ -f "$daemon_json" ]]; then cat "$tmp" > "$daemon_json"; else chmod 0644 "$tmp"; cp "$tmp" "$daemon_json"; fi
  changed "wrote /etc/docker/daemon.json (merged: cgroup driver systemd, ${#mirrors[@]} registry mirrors, ${#insecure[@]} insecure registries)"
  if systemctl is-active --quiet docker 2>/dev/null; then
    systemctl restart docker || die "systemctl restart docker failed; see: journalctl -u docker"
    changed "docker restarted to read the new daemon.json"
  fi
fi

[[ -z "$site_dir" ]] || docker_site_files

if ! systemctl is-enabled --quiet docker 2>/dev/null || ! systemctl is-active --quiet docker 2>/dev/null; then
  systemctl enable --now docker || die "systemctl enable --now docker failed; see: journalctl -u docker (is docker-ce installed? run scripts/install-packages.sh first)"
  changed "docker enabled and started"
fi
}

# docker --site-dir DIR: DIR/docker/certs.d/<registry>/ca.crt under /etc/docker/certs.d (docker reads
# them at each pull: no restart), and DIR/docker/config.json's logins merged into root's docker config
# (/root/.docker/config.json, 0600: its other entries kept, these replaced), which `docker pull` as root
# and the kubelet's own pulls use. The logins are never printed.
docker_site_files() {
  local file rel
  if [[ -d "$site_dir/docker/certs.d" ]]; then
    while IFS= read -r file; do
      rel="${file#"$site_dir/docker/certs.d/"}"
      if [[ -n "$(place "$file" "$root/etc/docker/certs.d/$rel" 0644)" ]]; then
        changed "wrote /etc/docker/certs.d/$rel"
      fi
    done < <(find "$site_dir/docker/certs.d" -type f | sort)
  fi
  [[ -f "$site_dir/docker/config.json" ]] || return 0
  local auth="$root/root/.docker/config.json" merged registries
  mkdir -p "$(dirname "$auth")"
  chmod 0700 "$(dirname "$auth")"
  merged="$(mktemp "$auth.offlinekit.XXXXXX")"
  registries="$("$python" - "$site_dir/docker/config.json" "$auth" "$merged" <<'PY'
import io, json, os, sys
from collections import OrderedDict

def read(path):
    if not os.path.exists(path):
        return OrderedDict()
    try:
        config = json.loads(io.open(path, encoding="utf-8").read() or "{}", object_pairs_hook=OrderedDict)
    except ValueError:
        sys.stderr.write("configure-runtime: %s is not valid JSON\n" % path)
        sys.exit(1)
    if not isinstance(config, dict) or not isinstance(config.get("auths", {}), dict):
        sys.stderr.write("configure-runtime: %s is not a docker config (an object with \"auths\")\n" % path)
        sys.exit(1)
    return config

new, current = read(sys.argv[1]), read(sys.argv[2])
auths = current.setdefault("auths", OrderedDict())
for registry, entry in new.get("auths", {}).items():
    auths[registry] = entry
io.open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(current, indent=2, separators=(",", ": ")) + "\n")
sys.stdout.write(" ".join(new.get("auths", {}).keys()))
PY
)" || { rm -f "$merged"; die "cannot merge the registry logins into /root/.docker/config.json (see the message above)"; }
  if [[ -n "$(place "$merged" "$auth" 0600)" ]]; then
    changed "wrote /root/.docker/config.json (the login for ${registries:-no registry}; other entries kept)"
  fi
  rm -f "$merged"
}

# (sha256sum, not cmp: diffutils is not on every minimal host.)
same() { [[ -f "$2" && "$(sha256sum < "$1")" == "$(sha256sum < "$2")" ]]; }

# Puts FILE in place as TARGET when they differ: written beside it, then renamed over it (a reader
# never sees half a file). Prints "changed" when it replaced or created TARGET.
place() {
  local file="$1" target="$2" mode="$3"
  if same "$file" "$target"; then
    [[ "$(stat -c %a "$target")" == "${mode#0}" ]] || chmod "$mode" "$target"
    return 0
  fi
  mkdir -p "$(dirname "$target")"
  local tmp
  tmp="$(mktemp "$target.offlinekit.XXXXXX")"
  cat "$file" > "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$target"
  echo changed
}

configure_containerd() {
  local config="$root/etc/containerd/config.toml"
  command -v containerd >/dev/null 2>&1 || die "containerd is not installed (the packages step installs containerd.io)"
  if [[ $show_config == 1 ]]; then
    echo "### offlinekit: containerd config default"
    containerd config default
    if [[ -f "$config" ]]; then
      echo "### offlinekit: /etc/containerd/config.toml"
      cat "$config"
    fi
    exit 0
  fi
  [[ -n "$site_dir" && -f "$site_dir/containerd/config.toml" ]] \
    || die "--site-dir DIR with DIR/containerd/config.toml is required: offlinekit writes it just before this step; run the install again"

  local config_changed=0
  if [[ -f "$config" && ! -f "$config.offlinekit-orig" ]] && ! same "$site_dir/containerd/config.toml" "$config"; then
    cp -p "$config" "$config.offlinekit-orig"
    say "kept the host's own config.toml as /etc/containerd/config.toml.offlinekit-orig"
  fi
  if [[ -n "$(place "$site_dir/containerd/config.toml" "$config" 0644)" ]]; then
    config_changed=1
    changed "wrote /etc/containerd/config.toml (merged: SystemdCgroup, the sandbox image, config_path)"
  fi
  if [[ -d "$site_dir/containerd/certs.d" ]]; then
    local file rel mode
    while IFS= read -r file; do
      rel="${file#"$site_dir/containerd/certs.d/"}"
      # A hosts.toml with a registry's credential (offlinekit wrote it 0600) stays root's alone.
      mode=0644
      [[ "$(stat -c %a "$file")" == 600 ]] && mode=0600
      if [[ -n "$(place "$file" "$root/etc/containerd/certs.d/$rel" "$mode")" ]]; then
        changed "wrote /etc/containerd/certs.d/$rel"
      fi
    done < <(find "$site_dir/containerd/certs.d" -type f | sort)
  fi
  if [[ -f "$site_dir/crictl.yaml" && -n "$(place "$site_dir/crictl.yaml" "$root/etc/crictl.yaml" 0644)" ]]; then
    changed "wrote /etc/crictl.yaml"
  fi

  if [[ $config_changed == 1 ]] && systemctl is-active --quiet containerd 2>/dev/null; then
    systemctl restart containerd || die "systemctl restart containerd failed; see: journalctl -u containerd"
    changed "containerd restarted to read the new config.toml"
  fi
  if ! systemctl is-enabled --quiet containerd 2>/dev/null || ! systemctl is-active --quiet containerd 2>/dev/null; then
    systemctl enable --now containerd || die "systemctl enable --now containerd failed; see: journalctl -u containerd (is containerd.io installed? run scripts/install-packages.sh first)"
    changed "containerd enabled and started"
  fi
}

case "$runtime" in
  docker)
    [[ $show_config == 0 ]] || die "--show-config is for --runtime containerd"
    configure_docker
    ;;
  containerd)
    [[ ${#mirrors[@]} -eq 0 && ${#insecure[@]} -eq 0 ]] || die "containerd takes its registries from hosts.toml files (--site-dir), not --registry-mirror/--insecure-registry"
    configure_containerd
    ;;
  *) die "unknown --runtime '$runtime' (docker or containerd)" ;;
esac

if ! systemctl is-enabled --quiet kubelet 2>/dev/null; then
  systemctl enable kubelet || die "systemctl enable kubelet failed (is kubelet installed? run scripts/install-packages.sh first)"
  changed "kubelet enabled (it starts after kubeadm init or join)"
fi

if [[ $changes -eq 0 ]]; then
  say "already configured; nothing to do"
else
  say "OK: $runtime configured and running, kubelet enabled ($changes changes)"
fi
