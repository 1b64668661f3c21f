# The lab's set-up, said once: sourced (not run) by tests/lab/demo.sh and bench/install.sh.
#
#   lab_require_root WHO               stop unless root (the lab hosts are network namespaces)
#   lab_require_tools WHO              stop naming every missing tool and its Debian package
#   lab_lock WHO "$0" "$@"             run the caller again holding the machine's one lab lock
#       (/tmp/offlinekit-lab.lock) until it exits, waiting for another demo, benchmark or test run to
#       finish first; once held, any lab still up was left by a killed run and is taken over
#   lab_sources_start DIR [K8S RUNTIME] every "internet" source of the default spec, on 127.0.0.1:
#       a docker-registry seeded with synthetic images under the real names (labtool seed), the real
#       Calico and metrics-server manifests behind file:// mirrors, and the spec's four yum repos of
#       real signed rpmbuild RPMs (labtool rpm-repos, the builder the integration tests use) served by
#       python3's http.server; sets LAB_MIRRORS to a mirrors file pointing every origin at them.
#       With a K8S other than the guide's 1.23.0: the sources of the spec the version catalog derives
#       for K8S and RUNTIME instead, as the integration tests' VersionLab has them (labtool
#       seed-version: kubeadm's images for K8S, the catalog's Calico and metrics-server, multi-arch;
#       labtool rpm-repos --versions: the per-minor pkgs.k8s.io-layout repos, docker-ce as it is today)
#   lab_hosts_start DIR                the three lab hosts (tests/lab/hosts-up.sh) with state in DIR;
#       sources their lab.env, exports the inventory's secrets, checks each address routes to a lab link
#   lab_stop                           stops what the two above started (hosts first); safe to call twice
#   lab_run_dir RUNS                   the run folder an `install --runs-dir RUNS` wrote (the newest)
#   lab_run_rows RUN_DIR               what the per-host logs of a run say, one tab-separated row each:
#       step   HOST STEP OUTCOME SECONDS MESSAGE   (OUTCOME: done, journal, failed, blocked)
#       push   HOST FILES_SENT BYTES_SENT
#       result HOST OUTCOME STEPS_DONE STEPS_TOTAL
#       span   HOST SECONDS                        (the host's log from its first line to its last)
#
# A caller sets a trap that calls lab_stop. The lab hosts are one per machine (fixed names): a caller
# takes lab_lock first (make integration-test holds the same lock around the tests).

LAB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAB_PIDS=()
LAB_HOSTS_UP=0

lab_require_root() {
  [[ $EUID -eq 0 ]] && return 0
  echo "$1: needs root: the lab hosts are network namespaces with their own sshd, and a lab login user (tests/lab/hosts-up.sh); run it as root (sudo)" >&2
  exit 1
}

lab_require_tools() {
  local who=$1 missing=() packages=() pair tool package
  for pair in dotnet:dotnet-sdk-10.0 python3:python3 docker-registry:docker-registry sha256sum:coreutils \
    rpmbuild:rpm rpmsign:rpm rpm:rpm createrepo_c:createrepo-c modifyrepo_c:createrepo-c gpg:gnupg gpg-agent:gpg-agent \
    dnf:dnf dockerd:docker.io docker:docker.io sshd:openssh-server ssh-keygen:openssh-client ip:iproute2 sudo:sudo; do
    tool=${pair%%:*} package=${pair#*:}
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || { missing+=("$tool"); packages+=("$package"); }
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "$who: missing: ${missing[*]}; install them with: apt-get install -y --no-install-recommends $(printf '%s\n' "${packages[@]}" | sort -u | tr '\n' ' ')(or all at once: sudo bash tests/lab/prerequisites.sh; dotnet is the .NET 10 SDK)" >&2
  exit 1
}

LAB_LOCK=/tmp/offlinekit-lab.lock

lab_lock() {  # lab_lock WHO SCRIPT ARGS...: run SCRIPT again under the lock, unless already under it
  # flock -o holds the lock in the flock process alone: the lab's servers (registry, sshd, dockerd)
  # never inherit it, so none left behind by a killed run can keep the next one waiting. The lock goes
  # when the script ends, however it ends. OFFLINEKIT_LAB_LOCKED=1 says a parent (make) holds it.
  local who=$1
  shift
  if [[ ${OFFLINEKIT_LAB_LOCKED:-0} != 1 ]]; then
    flock -n -o "$LAB_LOCK" true || echo "$who: another lab run (demo, benchmark or integration tests) holds $LAB_LOCK; waiting for it to end"
    OFFLINEKIT_LAB_LOCKED=1 exec flock -o "$LAB_LOCK" bash "$@"
  fi
  export OFFLINEKIT_LAB_TAKEOVER=1
}

lab_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

lab_wait_port() {  # lab_wait_port PORT WHAT LOG
  local _
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "lab: $2 does not answer on 127.0.0.1:$1; its log: $3" >&2
  tail -n 5 "$3" >&2
  return 1
}

lab_sources_start() {
  local dir=$1 k8s=${2:-1.23.0} runtime=${3:-} registry_port http_port testdata rpm_mirror versions=()
  mkdir -p "$dir"
  echo "lab: building LabTool (tests/lab/LabTool)"
  dotnet build "$LAB_REPO/tests/lab/LabTool" -c Release -o "$dir/labtool" -v q -nologo >"$dir/labtool-build.log" 2>&1 \
    || { cat "$dir/labtool-build.log" >&2; echo "lab: building LabTool failed" >&2; return 1; }

  if [[ $k8s != 1.23.0 ]]; then
    versions=(--versions)
    dotnet "$dir/labtool/LabTool.dll" kubernetes-versions | grep -qxF -- "$k8s" \
      || { echo "lab: the lab's sources hold Kubernetes $(dotnet "$dir/labtool/LabTool.dll" kubernetes-versions | paste -sd ' ' | sed 's/ /, /g') only, not $k8s (the RPMs are tests/lab/LabTool/LabRepoCatalog.cs's)" >&2; return 2; }
  fi

  registry_port=$(lab_free_port)
  cat >"$dir/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $dir/registry}}
http: {addr: 127.0.0.1:$registry_port}
YAML
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  LAB_PIDS+=($!)
  lab_wait_port "$registry_port" docker-registry "$dir/registry.log"
  testdata="$LAB_REPO/tests/OfflineKit.Tests/Manifests/testdata"
  if [[ ${#versions[@]} -eq 0 ]]; then
    echo "lab: docker-registry on 127.0.0.1:$registry_port, seeding it with the spec's images (synthetic contents, real names)"
    dotnet "$dir/labtool/LabTool.dll" seed "http://127.0.0.1:$registry_port" 2>&1 | tail -n 1 | sed 's/^/lab: /'
    mkdir -p "$dir/raw/projectcalico/calico/v3.25.2/manifests" "$dir/github/kubernetes-sigs/metrics-server/releases/download/v0.6.3"
    cp "$testdata/calico-v3.25.2.yaml" "$dir/raw/projectcalico/calico/v3.25.2/manifests/calico.yaml"
    cp "$testdata/metrics-server-v0.6.3-components.yaml" "$dir/github/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml"
  else
    echo "lab: docker-registry on 127.0.0.1:$registry_port, seeding it with Kubernetes $k8s's images and its addons' (synthetic contents, real names, amd64 and arm64)"
    dotnet "$dir/labtool/LabTool.dll" seed-version "http://127.0.0.1:$registry_port" "$dir/addons" --k8s "$k8s" ${runtime:+--runtime "$runtime"} --testdata "$testdata" 2>"$dir/seed.log" \
      || { cat "$dir/seed.log" >&2; echo "lab: seeding the registry failed" >&2; return 1; }
    tail -n 1 "$dir/seed.log" | sed 's/^/lab: /'
    mkdir -p "$dir/raw" "$dir/github"
    [[ ! -d $dir/addons/raw.githubusercontent.com ]] || cp -r "$dir/addons/raw.githubusercontent.com/." "$dir/raw/"
    [[ ! -d $dir/addons/github.com ]] || cp -r "$dir/addons/github.com/." "$dir/github/"
  fi

  http_port=$(lab_free_port)
  echo "lab: building the spec's yum repos of real RPMs (rpmbuild, rpmsign, createrepo_c)"
  rpm_mirror=$(dotnet "$dir/labtool/LabTool.dll" rpm-repos "$dir/rpms" --serve-base "http://127.0.0.1:$http_port/" "${versions[@]}" 2>"$dir/rpm-repos.log") \
    || { cat "$dir/rpm-repos.log" >&2; echo "lab: building the lab's yum repos failed" >&2; return 1; }
  sed 's/^/lab: /' "$dir/rpm-repos.log"
  # A plain static server for the repos' tree (only GETs of files; dnf on the hosts reads the bundle, not this).
  python3 -m http.server --bind 127.0.0.1 --directory "$dir/rpms/root" "$http_port" >"$dir/http.log" 2>&1 &
  LAB_PIDS+=($!)
  lab_wait_port "$http_port" "python3 -m http.server" "$dir/http.log"
  echo "lab: the yum repos served on http://127.0.0.1:$http_port/"

  LAB_MIRRORS=$dir/mirrors.yaml
  cat >"$LAB_MIRRORS" <<YAML
# Where the spec's origins really come from in the lab; names in the bundle stay the origin names.
registries:
  registry.aliyuncs.com: http://127.0.0.1:$registry_port
  registry.cn-hangzhou.aliyuncs.com: http://127.0.0.1:$registry_port
  docker.io: http://127.0.0.1:$registry_port$([[ ${#versions[@]} -eq 0 ]] || printf '\n  %s' "registry.k8s.io: http://127.0.0.1:$registry_port" "quay.io: http://127.0.0.1:$registry_port")
urls:
  https://raw.githubusercontent.com/: file://$dir/raw/
  https://github.com/: file://$dir/github/
  # the yum repos' base URLs and GPG key URLs (all under this origin)
$(sed 's/^/  /' <<<"$rpm_mirror")
YAML
}

lab_hosts_start() {
  # Every folder above DIR must let the lab's non-root login user through: a caller's `mktemp -d`
  # folder (0700) needs chmod 755 first; hosts-up.sh says so when one does not.
  export OFFLINEKIT_LAB_DIR=$1
  LAB_HOSTS_UP=1
  bash "$LAB_REPO/tests/lab/hosts-up.sh" | sed 's/^/lab: /'
  # shellcheck disable=SC1091
  source "$OFFLINEKIT_LAB_DIR/lab.env"
  export OFFLINEKIT_LAB_PASSWORD="$LAB_PASSWORD" OFFLINEKIT_LAB_PASSPHRASE="$LAB_PASSPHRASE"
  local address route
  for address in $LAB_ADDRESSES; do
    route=$(ip route get "$address" | head -n 1)
    [[ $route == *" dev oklab-"* || ( $LAB_MODE == loopback && $route == *" dev lo"* ) ]] \
      || { echo "lab: $address is not routed to a lab link: $route" >&2; return 1; }
    echo "lab: route: $route"
  done
}

lab_stop() {
  if [[ $LAB_HOSTS_UP -eq 1 ]]; then
    bash "$LAB_REPO/tests/lab/hosts-down.sh" >/dev/null 2>&1 || true
    LAB_HOSTS_UP=0
  fi
  local pid
  for pid in "${LAB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${LAB_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  LAB_PIDS=()
}

lab_run_dir() { find "$1" -mindepth 1 -maxdepth 1 -type d | sort | tail -n 1; }

lab_run_rows() {
  awk '
    function at(ts,  a) { split(ts, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
    function since(h, id, t,  d) { if (!((h, id) in start)) return "-"; d = t - start[h, id]; if (d < 0) d += 86400; return sprintf("%.3f", d) }
    function span(  d) { if (host != "") { d = last - first; if (d < 0) d += 86400; printf "span\t%s\t%.3f\n", host, d } }
    FNR == 1 { span(); host = FILENAME; sub(/.*\//, "", host); sub(/\.log$/, "", host); first = at($1) }
    $1 ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]+$/ { last = at($1) }
    END { span() }
    $2 == "==" && $3 ~ /:$/ {
      id = substr($3, 1, length($3) - 1); rest = $0; sub(/^[^ ]+ == [^ ]+ /, "", rest); t = at($1)
      if (rest == "done") printf "step\t%s\t%s\tdone\t%s\t\n", host, id, since(host, id, t)
      else if (rest == "done in an earlier run (journal)") printf "step\t%s\t%s\tjournal\t0.000\t\n", host, id
      else if (rest ~ /^FAILED: /) { failed[host, id] = 1; printf "step\t%s\t%s\tfailed\t%s\t%s\n", host, id, since(host, id, t), substr(rest, 9) }
      else if (rest ~ /^BLOCKED: /) { failed[host, id] = 1; printf "step\t%s\t%s\tblocked\t-\t%s\n", host, id, substr(rest, 10) }
      else if (rest !~ /^waiting for /) start[host, id] = t
      next
    }
    # A failure the step did not report itself (an SSH error, say): "FAILED at STEP: message".
    $2 == "FAILED" && $3 == "at" {
      id = $4; sub(/:$/, "", id); rest = $0; sub(/^[^ ]+ FAILED at [^ ]+ /, "", rest)
      if (!((host, id) in failed)) printf "step\t%s\t%s\tfailed\t%s\t%s\n", host, id, since(host, id, at($1)), rest
      next
    }
    $2 == "push:" && $4 == "sent," { printf "push\t%s\t%s\t%s\n", host, $3, $(NF - 2) }
    $2 == "result:" { o = $3; sub(/,$/, "", o); printf "result\t%s\t%s\t%s\t%s\n", host, o, $4, $6 }
  ' "$1"/*.log
}
