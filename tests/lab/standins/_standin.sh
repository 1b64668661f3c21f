# Shared by the lab's stand-ins (sourced, not run). A stand-in is an offlinekit lab stand-in for a
# tool a systemd host has and a lab host (a network namespace on this machine) must not use for real:
# it refuses to run without OFFLINEKIT_ROOT (the lab host's root folder), validates its arguments like
# the real tool, keeps its state in files under that root, and appends what it was asked to
# $OFFLINEKIT_ROOT/var/log/offlinekit-standins.log, which the tests read.
# To make a stand-in fail (the tests' fault injection): put a message in
# $OFFLINEKIT_ROOT/var/lib/offlinekit-standins/fail/<tool>.
set -euo pipefail

standin="$(basename "$0")"
root="${OFFLINEKIT_ROOT:-}"
[[ -n "$root" && "$root" == /* && -d "$root" ]] \
  || { echo "$standin (offlinekit lab stand-in): OFFLINEKIT_ROOT is not set to the lab host's root; refusing" >&2; exit 3; }
state="$root/var/lib/offlinekit-standins"
mkdir -p "$state" "$root/var/log"
# Bootstrap tokens (kubeadm join --token ...) are secrets: the record shows <token> in their place.
line="$standin${*:+ $*}"
while [[ "$line" =~ [a-z0-9]{6}\.[a-z0-9]{16} ]]; do line="${line/"${BASH_REMATCH[0]}"/<token>}"; done
printf '%s\n' "$line" >> "$root/var/log/offlinekit-standins.log"
if [[ -f "$state/fail/$standin" ]]; then
  echo "$standin (offlinekit lab stand-in): told to fail: $(cat "$state/fail/$standin")" >&2
  exit 1
fi
bad() { echo "$standin (offlinekit lab stand-in): $*" >&2; exit 2; }
# The kubeadm, kubectl and chronyd stand-ins are one python module (Debian's python3 with python3-yaml).
lab_kube() {
  local py=/usr/bin/python3
  [[ -x "$py" ]] || py="$(command -v python3)" || bad "python3 is missing: apt-get install python3 python3-yaml"
  exec "$py" -B "$(dirname "$0")/lab_kube.py" "$standin" "$@"
}
