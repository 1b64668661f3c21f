#!/usr/bin/env bash
# Installs this bundle's OS packages (kubelet, kubeadm, kubectl, docker-ce, containerd.io, … with
# their whole dependency closure) from the bundle's own yum repository, rpms/, and from nowhere else:
# no network is needed.
#
#   bash scripts/install-packages.sh [--role control-plane|worker] [--repo-url URL] [--package NAME]... [--skip NAME]...
#
# --skip: leave out a package of rpms/packages.txt this host does not run (offlinekit skips haproxy and
# keepalived except on the control planes behind keepalived-haproxy, and the depot's nginx).
# --package: install these packages (from the same repository) instead of those of rpms/packages.txt
# (the depot of a site installs nginx this way).
# --repo-url: site mode, the depot's copy of this bundle's rpms/ over HTTP (nginx): the repo file points
# there instead of at this folder's rpms/, which then holds only packages.txt and keys/.
#
# Both roles install the same packages today: those listed in rpms/packages.txt. The script writes
# /etc/yum.repos.d/offlinekit.repo pointing at this bundle's rpms/ folder, imports the bundle's GPG
# keys (rpms/keys/*.gpg) and runs dnf (yum on EL7) with every other repository disabled. Safe to run
# again: when every package is installed already it does nothing.
#
# Lab seam, not for hosts: OFFLINEKIT_INSTALLROOT=/path installs into that root instead of this
# host's (dnf --installroot, rpm --root, the repo file under /path/etc/yum.repos.d); tests use it.
# Without it, OFFLINEKIT_ROOT (the lab host's root, see prepare-host.sh) is the install root.
set -euo pipefail
# (Empty arrays are written ${a[@]+"${a[@]}"}: EL7's bash 4.2 calls "${a[@]}" of an empty array unbound.)

bundle_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rpms_dir="$bundle_dir/rpms"
role=""
repo_url=""
only=()
skip=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
say() { echo "install-packages: $*"; }
die() { echo "install-packages: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --role) role="${2:-}"; shift 2 ;;
    --repo-url) repo_url="${2:-}"; shift 2 ;;
    --package) only+=("${2:-}"); shift 2 ;;
    --skip) skip+=("${2:-}"); shift 2 ;;
    -h|--help) usage ;;
    *) echo "install-packages: unknown argument '$1'" >&2; usage ;;
  esac
done

case "$role" in
  control-plane|worker|"") ;;
  *) echo "install-packages: --role is control-plane or worker, not '$role'" >&2; usage ;;
esac

case "$repo_url" in
  ""|http://*|https://*) ;;
  *) echo "install-packages: --repo-url is an http:// or https:// URL, not '$repo_url'" >&2; usage ;;
esac
[[ -n "$repo_url" || -f "$rpms_dir/repodata/repomd.xml" ]] || die "$rpms_dir/repodata/repomd.xml is missing: this bundle carries no package repository"
if [[ ${#only[@]} -gt 0 ]]; then
  packages=("${only[@]}")
else
[[ -f "$rpms_dir/packages.txt" ]] || die "$rpms_dir/packages.txt is missing: the bundle does not say which packages to install"

# The requested packages, one a line (kubelet-1.23.0, containerd.io, …); blank lines and # comments skipped.
packages=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%%#*}"
  line="${line//[[:space:]]/}"
  [[ -n "$line" ]] && packages+=("$line")
done < "$rpms_dir/packages.txt"
[[ ${#packages[@]} -gt 0 ]] || die "$rpms_dir/packages.txt lists no packages"
# --skip NAME drops NAME and NAME-VERSION pins of it.
if [[ ${#skip[@]} -gt 0 ]]; then
  kept=()
  for p in "${packages[@]}"; do
    drop=
    for s in "${skip[@]}"; do
      [[ "$p" == "$s" || "$p" =~ ^"$s"-[0-9] ]] && drop=1
    done
    if [[ -n "$drop" ]]; then say "left out on this host: $p"; else kept+=("$p"); fi
  done
  packages=(${kept[@]+"${kept[@]}"})
  [[ ${#packages[@]} -gt 0 ]] || die "--skip leaves none of rpms/packages.txt to install"
fi
fi

root="${OFFLINEKIT_INSTALLROOT:-${OFFLINEKIT_ROOT:-}}"
rpm_args=()
pm_args=()
repo_dir=/etc/yum.repos.d
if [[ -n "$root" ]]; then
  [[ "$root" == /* ]] || die "OFFLINEKIT_INSTALLROOT must be an absolute path, not '$root'"
  mkdir -p "$root"
  repo_dir="$root/etc/yum.repos.d"
  rpm_args=(--root "$root")
  # An empty root has no /etc/os-release to give a release version, and the host's repo files and
  # dnf plugins (Debian's "local" plugin adds a repo of every RPM it ever installed) stay out.
  pm_args=(--installroot="$root" --releasever=8 --noplugins --setopt=reposdir="$repo_dir")
  say "lab mode: installing into $root, not into this host"
fi

installed() { rpm ${rpm_args[@]+"${rpm_args[@]}"} -q "$1" >/dev/null 2>&1 || rpm ${rpm_args[@]+"${rpm_args[@]}"} -q --whatprovides "$1" >/dev/null 2>&1; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

# EL7 has yum only; EL8 has dnf (yum there is dnf too).
pm=""
version_id="$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}")" || version_id=""
if [[ "${version_id%%.*}" == 7 ]] && command -v yum >/dev/null 2>&1; then
  pm=yum
elif command -v dnf >/dev/null 2>&1; then
  pm=dnf
elif command -v yum >/dev/null 2>&1; then
  pm=yum
else
  die "neither dnf nor yum is installed on this host"
fi

# file:// URLs: a space in the bundle's path would end the URL.
url() { local p="${1// /%20}"; echo "file://$p"; }

keys=()
for k in "$rpms_dir"/keys/*.gpg; do
  [[ -f "$k" ]] && keys+=("$k")
done

mkdir -p "$repo_dir"
repo_file="$repo_dir/offlinekit.repo"
{
  echo "# Written by offlinekit's install-packages.sh: the packages of the bundle in $bundle_dir."
  echo "[offlinekit]"
  echo "name=offlinekit bundle packages"
  echo "baseurl=${repo_url:-$(url "$rpms_dir")}"
  echo "enabled=1"
  if [[ ${#keys[@]} -gt 0 ]]; then
    echo "gpgcheck=1"
    echo "gpgkey=$(for k in "${keys[@]}"; do url "$k"; done | paste -sd ' ')"
  else
    echo "gpgcheck=0"
  fi
  # The repo is on disk: read it fresh every time, and fail rather than skip it.
  echo "metadata_expire=0"
  echo "skip_if_unavailable=False"
  # The set was resolved when the bundle was built (module streams included): install it as it is.
  echo "module_hotfixes=1"
} > "$repo_file.tmp"
mv "$repo_file.tmp" "$repo_file"
say "wrote $repo_file (baseurl ${repo_url:-$(url "$rpms_dir")})"

# The repo file is written either way: the host's package manager points at this bundle (or the depot).
if [[ ${#missing[@]} -eq 0 ]]; then
  say "all ${#packages[@]} packages of rpms/packages.txt installed; nothing to do"
  exit 0
fi
say "to install: ${missing[*]} (with their dependencies, from the bundle only)"

if [[ ${#keys[@]} -gt 0 ]]; then
  for k in "${keys[@]}"; do
    rpm ${rpm_args[@]+"${rpm_args[@]}"} --import "$k" || die "rpm --import $k failed: the key file is damaged"
  done
  say "imported ${#keys[@]} GPG key(s) from rpms/keys/; every package's signature is checked"
else
  say "WARNING: the bundle carries no GPG keys (rpms/keys/*.gpg): installing with gpgcheck=0, signatures NOT checked"
fi

if ! "$pm" -y ${pm_args[@]+"${pm_args[@]}"} --disablerepo='*' --enablerepo=offlinekit install "${missing[@]}"; then
  die "$pm could not install ${missing[*]} from the bundle's repository ${repo_url:-$rpms_dir} (see its message above): a package or a dependency is missing from the bundle, or a signature did not verify. Check the bundle with scripts/verify.sh or build it again"
fi

not_installed=()
for p in "${missing[@]}"; do
  installed "$p" || not_installed+=("$p")
done
[[ ${#not_installed[@]} -eq 0 ]] || die "$pm finished but these are still not installed: ${not_installed[*]}"
say "installed ${missing[*]} and their dependencies from the bundle"
