#!/usr/bin/env bash
# The one list of Debian packages that `make demo`, `make test`, `make bench` and CI use, each with
# the reason it is there. Installs only what is missing: when everything is present it says so in one
# line and runs no `apt-get update`. Needs root and apt-get for the install; elsewhere it names the
# packages and the command, and exits 2. The .NET 10 SDK (global.json) is not a Debian package here:
# it must already be on the machine.
#
#   tests/lab/prerequisites.sh           install what is missing
#   tests/lab/prerequisites.sh --check   only say what is missing (exit 2 if anything is)
#   tests/lab/prerequisites.sh --list    print the package list, one a line
set -euo pipefail

# package            why
PACKAGES=(
  "coreutils         sha256sum: the bundle's SHA256SUMS checked as a site would (tests, bench/verify.sh)"
  "tar               GNU tar: bundles repacked by hand, tarball interop tests"
  "gzip              tar.gz bundles and gzip repo metadata"
  "xz-utils          xz repo metadata (EL AppStream ships it), xz tests"
  "zstd              tar.zst bundles and zstd repo metadata"
  "ca-certificates   TLS trust store for the registry client's system CAs"
  "make              the Makefile itself"
  "docker-registry   the CNCF distribution registry: the lab's image mirror (plain, htpasswd, TLS)"
  "nginx-light       the site-mode depot serves its bundle with nginx (a lab host runs this build of it)"
  "apache2-utils     htpasswd for the lab registry's basic auth"
  "openssl           the lab's CA and TLS certificates; signature checks as hosts do them"
  "docker.io         dockerd + docker: docker load of bundles, each lab host's runtime"
  "containerd        containerd + ctr: ctr images import of bundles"
  "podman            podman load of bundles"
  "skopeo            reads the image archives; the peer in bench/images.sh"
  "rpm               rpm, rpmbuild, rpmsign: the lab's real RPMs and their signatures"
  "createrepo-c      createrepo_c, modifyrepo_c: the lab's yum repo metadata"
  "dnf               the real resolver offlinekit is checked against; lab hosts' package installs"
  "dnf-plugins-core  dnf repoclosure over a bundle's repository"
  "gnupg             gpg and its agent sign the lab's RPMs"
  "openssh-server    sshd in each lab host's network namespace"
  "openssh-client    ssh-keygen, ssh-keyscan, scp (the peer in bench/push.sh)"
  "iproute2          ip netns and veths for the lab hosts; tc shapes a lab link"
  "sudo              the lab hosts' non-root login user runs steps with sudo"
  "passwd            useradd for the lab login user"
  "procps            ps/pkill used to stop the lab's servers"
  "util-linux        flock (the one lab lock), unshare, runuser"
  "diffutils         cmp in the tests"
  "python3           the kubeadm, kubectl and chronyd stand-ins; the lab's HTTP servers"
  "python3-yaml      the stand-ins parse kubeadm configs and manifests"
  "time              /usr/bin/time -v: the benchmarks' wall time and peak RSS"
  "haproxy           haproxy -c validates the HA load balancer's config the control planes get"
  "keepalived        keepalived --config-test validates the HA VIP's config the control planes get"
)

names() { local line; for line in "${PACKAGES[@]}"; do echo "${line%% *}"; done; }

missing() {
  # One dpkg-query for the whole list, from the local database: no network, well under a second.
  # A package dpkg has never heard of is simply absent from its answer.
  local -A installed=()
  local name status
  while IFS=' ' read -r name status; do
    [[ $status == ii* ]] && installed[${name%%:*}]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $(names) 2>/dev/null || true)
  for name in $(names); do [[ -n ${installed[$name]:-} ]] || echo "$name"; done
}

case ${1:-} in
  --list) names; exit 0 ;;
  --check | "") ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "prerequisites: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  # Nothing here can tell what is installed: the operator says they did it by hand.
  if [[ ${OFFLINEKIT_PREREQUISITES:-} == manual ]]; then
    echo "prerequisites: not Debian or Ubuntu; OFFLINEKIT_PREREQUISITES=manual says the list was installed by hand"
    exit 0
  fi
  echo "prerequisites: this is not Debian or Ubuntu (no apt-get), so nothing is installed automatically;" \
    "install these (Debian's names; your distribution's may differ) by hand: $(names | tr '\n' ' ')" \
    "then run again with OFFLINEKIT_PREREQUISITES=manual in the environment" >&2
  exit 2
fi

mapfile -t want < <(missing)
if [[ ${#want[@]} -eq 0 ]]; then
  echo "prerequisites: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  echo "prerequisites: missing: ${want[*]}; install them with: sudo bash tests/lab/prerequisites.sh" >&2
  exit 2
fi
if [[ $EUID -ne 0 ]]; then
  echo "prerequisites: missing: ${want[*]}; installing needs root: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${want[*]}" >&2
  exit 2
fi

echo "prerequisites: installing ${#want[@]} missing Debian package(s): ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt's own messages stay visible on failure; its exit status is ours (set -e). apt installs a whole
# set or, on a failed download or dependency, none of it.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/tmp/offlinekit-prerequisites.log 2>&1 || {
  status=$?
  tail -n 20 /tmp/offlinekit-prerequisites.log >&2
  echo "prerequisites: apt-get install failed (exit $status); nothing else was changed" >&2
  exit "$status"
}
mapfile -t still < <(missing)
if [[ ${#still[@]} -ne 0 ]]; then
  echo "prerequisites: apt-get finished but these are still not installed: ${still[*]}" >&2
  exit 1
fi
echo "prerequisites: installed ${want[*]}"
