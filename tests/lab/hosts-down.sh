#!/usr/bin/env bash
# Stops the lab hosts that hosts-up.sh started (by the PIDs it recorded) and removes their
# namespaces, links, lab user and sudoers file. Safe to run twice, or when nothing is up.
# OFFLINEKIT_LAB_KEEP=1 keeps the lab folder (logs) for a look after a failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lab="${OFFLINEKIT_LAB_DIR:-$repo/.lab/hosts}"
hosts=(k8s-master k8s-node01 k8s-node02 k8s-master02 k8s-master03)
# A lab of more hosts (OFFLINEKIT_LAB_HOSTS) recorded them in lab.env, and the two more control planes apart.
if [[ -f "$lab/lab.env" ]]; then
  read -r -a hosts <<<"$(sed -n 's/^LAB_HOSTS="\(.*\)"$/\1 /p; s/^LAB_HA_HOSTS="\(.*\)"$/\1 /p' "$lab/lab.env" | tr -d '\n')"
  [[ ${#hosts[@]} -gt 0 ]] || hosts=(k8s-master k8s-node01 k8s-node02 k8s-master02 k8s-master03)
fi
links=()
for h in "${hosts[@]}"; do links+=("oklab-${h#k8s-}"); done
owner_file=/run/offlinekit-lab.owner

stop_sshd() {
  local dir="$1" pid children
  [[ -s "$dir/sshd.pid" ]] || return 0
  pid="$(cat "$dir/sshd.pid")"
  # Only our sshd: the process must still be the one started with this host's config.
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$dir/etc/sshd_config"; then
    # Its sessions are its children; end them too so no connection outlives the lab.
    children="$(pgrep -P "$pid" || true)"
    kill "$pid" 2>/dev/null || true
    for child in $children; do kill "$child" 2>/dev/null || true; done
    for _ in $(seq 100); do [[ -d "/proc/$pid" ]] || break; sleep 0.05; done
  fi
  rm -f "$dir/sshd.pid"
}

# A private daemon the systemctl stand-in started for a host (dockerd, containerd): only when the PID in
# its pidfile under the host's root is still that daemon, started with that host's own paths.
stop_daemon() {
  local pidfile="$1" comm="$2" marker="$3" pid
  [[ -s "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$marker"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

for i in "${!hosts[@]}"; do
  dir="$lab/${hosts[$i]}"
  # A site-mode depot's nginx and registry stand-in (serve-depot.sh), by the PIDs it recorded.
  for pidfile in "$dir"/root/var/lib/*/depot/nginx.pid; do stop_daemon "$pidfile" nginx "$(dirname "$pidfile")/nginx.conf"; done
  for pidfile in "$dir"/root/var/lib/*/depot/registry.pid; do stop_daemon "$pidfile" docker-registry "$(dirname "$pidfile")/registry.yml"; done
  stop_daemon "$dir/root/run/docker.pid" dockerd "--pidfile $dir/root/run/docker.pid"
  stop_daemon "$dir/root/run/containerd.pid" containerd "--root $dir/root/var/lib/containerd"
  stop_sshd "$lab/${hosts[$i]}"
done

# Namespaces and links are ours only while this lab owns them (the owner file says which lab is up).
if [[ ! -f "$owner_file" || "$(cat "$owner_file")" == "$lab" ]]; then
  for i in "${!hosts[@]}"; do
    ip netns del "oklab-${hosts[$i]}" 2>/dev/null || true
    ip link del "${links[$i]}" 2>/dev/null || true
  done
  rm -f "$owner_file" /etc/sudoers.d/offlinekit-lab
  if [[ -f "$lab/.created-user" ]]; then
    userdel oklab 2>/dev/null || true
  fi
fi

if [[ "${OFFLINEKIT_LAB_KEEP:-0}" != 1 ]]; then
  rm -rf "$lab"
fi
echo "hosts-down: $lab is down"
