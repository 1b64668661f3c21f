#!/usr/bin/env bash
# Checks this bundle on a host before anything is installed from it.
# Run it from anywhere: bash scripts/verify.sh [--key PUB.pem] [--sums FILE]
#
# --key PUB.pem  first: bundle.json.sig must be PUB.pem's signature over bundle.json (openssl, on every
#                EL host). bundle.json pins every other file, so this proves who made the bundle.
# Level one: every file against SHA256SUMS (coreutils' sha256sum, present on every EL7/EL8 host), or
#                against --sums FILE: the lines of the files this host was given (install writes it).
# Level two: when the bundle carries its own offlinekit (bin/) and this host has the whole bundle,
#                `offlinekit verify` also checks every file and artifact against bundle.json, which
#                catches a file changed together with its SHA256SUMS line.
set -euo pipefail

key=""
sums=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --key) key="$(realpath -- "${2:?--key needs a file}")"; shift 2 ;;
    --sums) sums="$(realpath -- "${2:?--sums needs a file}")"; shift 2 ;;
    *) echo "usage: verify.sh [--key PUB.pem] [--sums FILE]" >&2; exit 2 ;;
  esac
done

bundle_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$bundle_dir"

if [[ ! -f SHA256SUMS ]]; then
  echo "verify.sh: $bundle_dir has no SHA256SUMS; this is not an offlinekit bundle" >&2
  exit 1
fi

if [[ -n "$key" ]]; then
  if [[ ! -f bundle.json.sig ]]; then
    echo "verify.sh: FAILED: the bundle is not signed (no bundle.json.sig) and --key asks for a signature; do not install from this bundle" >&2
    exit 1
  fi
  signature="$(mktemp)"
  trap 'rm -f -- "$signature"' EXIT
  if ! base64 -d bundle.json.sig > "$signature" || ! openssl dgst -sha256 -verify "$key" -signature "$signature" bundle.json > /dev/null; then
    echo "verify.sh: FAILED: bundle.json.sig does not verify with $key (another key, or bundle.json was changed); do not install from this bundle" >&2
    exit 1
  fi
  echo "verify.sh: bundle.json.sig verifies with $key"
fi

list="${sums:-SHA256SUMS}"
echo "verify.sh: checking $(wc -l < "$list") files in $bundle_dir against $(basename -- "$list")"
if ! sha256sum --check --quiet --strict "$list"; then
  echo "verify.sh: FAILED: the files above do not match $(basename -- "$list"); do not install from this bundle" >&2
  exit 1
fi

if [[ -n "$sums" ]]; then
  echo "verify.sh: checked the files this host was given (offlinekit checked the whole bundle before sending them)"
elif [[ -x bin/offlinekit ]]; then
  bin/offlinekit verify "$bundle_dir" ${key:+--key "$key"}
else
  echo "verify.sh: no bin/offlinekit in this bundle; checked SHA256SUMS only"
fi
echo "verify.sh: OK"
