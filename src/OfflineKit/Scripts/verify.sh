#!/usr/bin/env bash
# Checks this bundle on a host before anything is installed from it.
# Run it from anywhere: bash scripts/verify.sh
#
# Level one: every file against SHA256SUMS (coreutils' sha256sum, present on every EL7/EL8 host).
# Level two: when the bundle carries its own offlinekit (bin/), `offlinekit verify` also checks
# every file and artifact against bundle.json, which catches a file changed together with its
# SHA256SUMS line.
set -euo pipefail

bundle_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$bundle_dir"

if [[ ! -f SHA256SUMS ]]; then
  echo "verify.sh: $bundle_dir has no SHA256SUMS; this is not an offlinekit bundle" >&2
  exit 1
fi

echo "verify.sh: checking $(wc -l < SHA256SUMS) files in $bundle_dir against SHA256SUMS"
if ! sha256sum --check --quiet --strict SHA256SUMS; then
  echo "verify.sh: FAILED: the files above do not match SHA256SUMS; do not install from this bundle" >&2
  exit 1
fi

if [[ -x bin/offlinekit ]]; then
  bin/offlinekit verify "$bundle_dir"
else
  echo "verify.sh: no bin/offlinekit in this bundle; checked SHA256SUMS only"
fi
echo "verify.sh: OK"
