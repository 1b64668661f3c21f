#!/usr/bin/env bash
# Loads this bundle's container images on this host: the guide's imp_docker_img.sh, for docker or containerd.
#
#   bash scripts/import-images.sh --role control-plane     # kube-apiserver, etcd, … and the images every node needs
#   bash scripts/import-images.sh --role worker            # the images every node needs
#   bash scripts/import-images.sh --check IMAGE...          # each image present? (the offline guarantee)
#   bash scripts/import-images.sh --role worker --pull-list FILE [--plain-http]   # site mode: pull from the site's registry
#
# --pull-list: lines "ORIGIN SOURCE@sha256:…" (offlinekit writes them): each missing ORIGIN is pulled
# from SOURCE by its digest (the runtime checks every byte against it) and tagged ORIGIN, so the
# cluster sees the origin names. --plain-http for a registry without TLS (the depot's own).
# Options: --runtime docker|containerd (default: docker if its daemon answers, else containerd).
# docker honours DOCKER_HOST; ctr honours CONTAINERD_ADDRESS. Safe to run again: images already
# present are not loaded twice. containerd pulls with /etc/containerd/certs.d (the runtime step's
# hosts.toml: the registry's CA and, for a site registry that wants a login, its credential).
# Lab seam, not for hosts: OFFLINEKIT_ROOT=/path reads /path/etc/containerd/certs.d and /path/root/.docker.
set -euo pipefail

bundle_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
role=""
runtime=""
check=()
pull_list=""
plain_http=""

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
say() { echo "import-images: $*"; }
die() { echo "import-images: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --role) role="${2:-}"; shift 2 ;;
    --runtime) runtime="${2:-}"; shift 2 ;;
    --pull-list) pull_list="${2:-}"; shift 2 ;;
    --plain-http) plain_http=1; shift ;;
    --check) shift; check=("$@"); [[ ${#check[@]} -gt 0 ]] || { echo "import-images: --check needs at least one image" >&2; usage; }; set --; break ;;
    -h|--help) usage ;;
    *) echo "import-images: unknown argument '$1'" >&2; usage ;;
  esac
done

case "$role" in
  control-plane) parts=(control-plane common) ;;
  worker) parts=(common) ;;
  *) [[ ${#check[@]} -gt 0 ]] || { echo "import-images: --role control-plane or --role worker is required" >&2; usage; } ;;
esac

if [[ -z "$runtime" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    runtime=docker
  elif command -v ctr >/dev/null 2>&1 && ctr version >/dev/null 2>&1; then
    runtime=containerd
  else
    die "neither a docker daemon nor containerd answers on this host; start one (systemctl start docker) or pass --runtime"
  fi
fi

present() {
  case "$runtime" in
    docker) docker image inspect "$1" >/dev/null 2>&1 ;;
    # grep without -q reads the whole list: with -q it stops at the match, and under pipefail the
    # SIGPIPE that ctr then gets (a long list) would make a present image look missing.
    containerd) ctr -n k8s.io images ls -q | grep -Fx "$1" >/dev/null ;;
    *) die "unknown runtime '$runtime' (docker or containerd)" ;;
  esac
}

load() {
  case "$runtime" in
    docker) docker load -i "$1" ;;
    containerd) ctr -n k8s.io images import "$1" ;;
  esac
}

# The offline guarantee: one line per image, "present NAME" or "missing NAME"; exit 1 when one is missing.
if [[ ${#check[@]} -gt 0 ]]; then
  absent=0
  for name in "${check[@]}"; do
    if present "$name"; then echo "present $name"; else echo "missing $name"; absent=$((absent + 1)); fi
  done
  [[ $absent -eq 0 ]] || die "$absent of ${#check[@]} images missing from $runtime"
  say "all ${#check[@]} images present in $runtime"
  exit 0
fi

# Site mode: pull each missing image by digest from the site's registry, then give it its origin name.
if [[ -n "$pull_list" ]]; then
  [[ -f "$pull_list" ]] || die "$pull_list is missing: offlinekit writes it before this step"
  pulled=0
  total=0
  # docker pulls as root with root's docker config (a site registry's login); in the lab, the lab host's.
  docker_client=()
  [[ -n "${OFFLINEKIT_ROOT:-}" ]] && docker_client=(--config "$OFFLINEKIT_ROOT/root/.docker")
  while read -r origin source rest; do
    [[ -n "${origin:-}" ]] || continue
    [[ -n "${source:-}" && -z "${rest:-}" && "$source" == *@sha256:* ]] || die "$pull_list: '$origin ${source:-}' is not 'ORIGIN SOURCE@sha256:DIGEST'"
    total=$((total + 1))
    present "$origin" && continue
    case "$runtime" in
      docker)
        docker ${docker_client[@]+"${docker_client[@]}"} pull "$source" >/dev/null \
          || die "docker pull $source failed (the runtime step puts a plain-HTTP registry in daemon.json's insecure-registries, a registry's CA under /etc/docker/certs.d and its login in root's docker config)"
        docker tag "$source" "$origin" ;;
      containerd)
        args=()
        [[ -n "$plain_http" ]] && args+=(--plain-http)
        # The runtime step's hosts.toml for the registry: its CA and, for a site registry that wants one, its credential.
        [[ -z "$plain_http" && -d "${OFFLINEKIT_ROOT:-}/etc/containerd/certs.d" ]] && args+=(--hosts-dir "${OFFLINEKIT_ROOT:-}/etc/containerd/certs.d")
        ctr -n k8s.io images pull ${args[@]+"${args[@]}"} "$source" >/dev/null || die "ctr images pull $source failed"
        ctr -n k8s.io images tag --force "$source" "$origin" >/dev/null || die "ctr images tag $source $origin failed" ;;
    esac
    present "$origin" || die "$origin is still missing after pulling $source"
    pulled=$((pulled + 1))
  done < "$pull_list"
  [[ $total -gt 0 ]] || die "$pull_list lists no image"
  say "pulled $pulled of $total images (the others were present) into $runtime, each by its digest; OK ($runtime, role $role)"
  exit 0
fi

cd "$bundle_dir"
for part in "${parts[@]}"; do
  archive="images/$part.tar"
  names="images/$part.images"
  [[ -f "$archive" && -f "$names" ]] || die "$archive or $names is missing from the bundle"

  # Check the files against the bundle's SHA256SUMS before a runtime reads a byte of them.
  if ! grep -E "  (images/$part\.tar|images/$part\.images)\$" SHA256SUMS | sha256sum --check --quiet --strict -; then
    die "$archive does not match SHA256SUMS; the bundle was changed or damaged"
  fi

  missing=()
  while IFS= read -r name; do
    [[ -n "$name" ]] || continue
    present "$name" || missing+=("$name")
  done < "$names"
  total=$(grep -c . "$names")
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "$part: all $total images already present in $runtime; nothing to do"
    continue
  fi

  say "$part: loading ${#missing[@]} of $total images into $runtime"
  load "$archive"
  while IFS= read -r name; do
    [[ -n "$name" ]] || continue
    present "$name" || die "$name is still missing after loading $archive"
  done < "$names"
  say "$part: loaded"
done
say "OK ($runtime, role $role)"
