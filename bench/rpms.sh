#!/usr/bin/env bash
# bench/rpms.sh: resolving the spec's RPM closure, offlinekit side by side with dnf, in one run.
#
# Both read the same metadata-only repositories (the real graph of the spec's packages plus
# generated packages to the size of BaseOS+AppStream, ~10,000, primaries shaped like real EL ones:
# text fields, ~15 requires, only /etc and bin/ files) over HTTP from 127.0.0.1 and solve the same
# request: fetch + parse + solve, no RPM downloads. Two OS shapes: el8 (the guide's 1.23.0 bundle:
# its four repos, CentOS 8.5's BaseOS/AppStream split) and el9 (a 1.30.1 EL9 containerd bundle:
# pkgs.k8s.io's v1.30 with zstd metadata, docker-ce's centos/9, Rocky 9's split). Per shape three
# repository sets, AppStream's metadata compressed with gzip, xz and zstd (real EL repositories ship
# each). Two sets of rounds each:
#   cold: no cache for either (dnf: a fresh installroot and cachedir; offlinekit: a fresh --cache),
#         so both parse the XML metadata;
#   warm: each tool's own cache filled by one untimed run first (dnf: its solv/solvx cache;
#         offlinekit: its parsed-metadata cache), so neither parses XML again.
# Then one bigger set, el8-large (LARGE_PACKAGES generated packages, default 30,000, AppStream xz: the
# size of EL9's repositories with EPEL beside them), for memory at size: a resolve holds the parsed
# metadata of every repository, so its peak RSS grows with them.
# Prints times, both closures' sizes and whether they are equal, and offlinekit's peak RSS.
# Targets (issue 16): same closure, cold offlinekit <= 0.33x dnf's time for each compression on the
# ~10,000-package sets, peak RSS <= 200 MB in every set, the large one included. Warm is printed for information: dnf's solv cache against offlinekit's parsed
# cache, both under half a second, where process start-up is most of either (no target).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
offlinekit="${OFFLINEKIT:-$repo_root/dist/linux-x64/offlinekit}"
runs="${RUNS:-3}"
extra="${EXTRA_PACKAGES:-10000}"
large="${LARGE_PACKAGES:-30000}"
compressions=(${COMPRESSIONS:-gz xz zst})
oses=(${OSES:-el8 el9})

for tool in dnf /usr/bin/time python3 xz zstd; do
  command -v "$tool" >/dev/null || { echo "bench/rpms.sh: $tool is missing (apt-get install dnf time)" >&2; exit 1; }
done
[[ -x "$offlinekit" ]] || { echo "bench/rpms.sh: $offlinekit is missing; run make publish" >&2; exit 1; }

work="$(mktemp -d /tmp/offlinekit-bench-rpms.XXXXXX)"
server_pid=
cleanup() { [[ -n $server_pid ]] && { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }; rm -rf "$work"; }
trap cleanup EXIT

echo "== preparing (scratch: $work)"
# A copy of the binary: `make publish` may replace dist/ while this runs.
cp "$offlinekit" "$work/offlinekit"; offlinekit="$work/offlinekit"
dotnet build "$repo_root/tests/lab/LabTool" -c Release -o "$work/labtool" -v q -nologo >/dev/null
sets=()
for os in "${oses[@]}"; do for c in "${compressions[@]}"; do
  sets+=("$os-$c")
  dotnet "$work/labtool/LabTool.dll" gen-rpm-repos "$work/repos-$os-$c" --extra "$extra" --compression "$c" --os "$os"
  printf '   %-7s primaries: %s\n' "$os-$c" "$(find "$work/repos-$os-$c" -name '*-primary.xml.*' -printf '%f %s\n' | awk '{split($1, p, "."); printf "%s%.2f MB (%s)", sep, $2/1e6, p[length(p)]; sep=", "}')"
done; done
if (( large > 0 )); then
  sets+=(el8-large)
  dotnet "$work/labtool/LabTool.dll" gen-rpm-repos "$work/repos-el8-large" --extra "$large" --compression xz --os el8
  printf '   %-7s primaries: %s\n' el8-large "$(find "$work/repos-el8-large" -name '*-primary.xml.*' -printf '%f %s\n' | awk '{split($1, p, "."); printf "%s%.2f MB (%s)", sep, $2/1e6, p[length(p)]; sep=", "}')"
fi
# The repositories over HTTP on 127.0.0.1 (a threaded server), as a mirror serves them.
port=
for attempt in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 20000))
  python3 -m http.server --bind 127.0.0.1 "$p" --directory "$work" >"$work/http.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { port=$p; break; }
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] && break
  kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=
done
[[ -n $port ]] || { echo "bench/rpms.sh: could not start an HTTP server on 127.0.0.1" >&2; exit 1; }
echo "   serving the repositories on http://127.0.0.1:$port/ (pid $server_pid)"

# Per OS shape: what `rpms resolve` is asked (the spec derived for that bundle), the same request
# to dnf, and the repos' paths. The el9 request is what `build --k8s 1.30.1 --os el9 --dry-run` lists.
request_el8=(kubelet-1.23.0 kubeadm-1.23.0 kubectl-1.23.0 docker-ce-20.10.24 docker-ce-cli-20.10.24 containerd.io chrony)
request_el9=(kubelet-1.30.1 kubeadm-1.30.1 kubectl-1.30.1 containerd.io cri-tools chrony haproxy keepalived)
resolve_el8=(--k8s 1.23.0)
resolve_el9=(--k8s 1.30.1 --os el9)
repos_el8=("k8s,kubernetes/yum/repos/kubernetes-el7-x86_64/" "docker,docker-ce/linux/centos/8/x86_64/stable/"
           "baseos,centos-vault/8.5.2111/BaseOS/x86_64/os/" "appstream,centos-vault/8.5.2111/AppStream/x86_64/os/")
repos_el9=("k8s,kubernetes-new/core/stable/v1.30/rpm/" "docker,docker-ce/linux/centos/9/x86_64/stable/"
           "baseos,rockylinux/9/BaseOS/x86_64/os/" "appstream,rockylinux/9/AppStream/x86_64/os/")

run_offlinekit() { # $1 = mode (cold|warm), $2 = round; $c = set (os-compression)
  local cache="$work/okcache.$c.$1.$2" resolve="resolve_${c%%-*}[@]"
  [[ $1 == warm ]] && cache="$work/okcache.$c.warm"
  [[ $1 == cold ]] && rm -rf "$cache"
  /usr/bin/time -f '%e %U %S %M' -o "$work/ok.$c.$1.time.$2" \
    "$offlinekit" rpms resolve "${!resolve}" --url-mirror "https://mirrors.aliyun.com/=http://127.0.0.1:$port/repos-$c/aliyun/" --cache "$cache" \
    > "$work/ok.$c.$1.out.$2"
}

run_dnf() { # $1 = mode (cold|warm), $2 = round; $c = set (os-compression)
  local root="$work/dnfroot.$c.$1.$2" args=() base="http://127.0.0.1:$port/repos-$c/aliyun" os=${c%%-*}
  local repos="repos_$os[@]" request="request_$os[@]"
  [[ $1 == warm ]] && root="$work/dnfroot.$c.warm"
  if [[ $1 == cold ]]; then rm -rf "$root"; fi
  mkdir -p "$root"
  for r in "${!repos}"; do
    args+=("--repofrompath=${r%%,*},$base/${r#*,}")
  done
  # --assumeno: fetch + parse + solve, print the transaction, install nothing (exit 1 is expected).
  /usr/bin/time -f '%e %U %S %M' -o "$work/dnf.$c.$1.time.$2" \
    dnf --noplugins --nogpgcheck --installroot="$root" --releasever="${os#el}" --setopt=reposdir=/dev/null \
      --setopt=cachedir="$root/cache" --setopt=install_weak_deps=False --setopt=best=True \
      --disablerepo='*' "${args[@]}" --enablerepo=k8s,docker,baseos,appstream \
      --assumeno install "${!request}" > "$work/dnf.$c.$1.out.$2" 2>&1 || true
}

best() { # $1 = prefix: prints "wall cpu rssKB" of the fastest round
  # time(1) puts "Command exited with non-zero status" first when dnf says no (--assumeno).
  for f in "$work/$1".time.*; do tail -n1 "$f" | awk '{printf "%s %.2f %s\n", $1, $2+$3, $4}'; done | sort -n | head -1
}

nevras() { # $1 = dnf output: dnf's transaction table, as NEVRAs: "name arch [epoch:]version-release repo size".
  awk '/^Installing( dependencies)?:/{on=1; next} /^Transaction Summary/{on=0} on && NF>=5 {
         v=$3; if (v !~ /:/) v="0:" v; print $1 "-" v "." $2 }' "$1" | sort
}

echo "== measuring: $runs rounds each, cold then warm, best wall time kept ($(nproc) CPUs)"
# A shared machine: how busy it is says how much to trust the figures below.
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${sets[@]}"; do
  for i in $(seq 1 "$runs"); do
    run_dnf cold "$i"; run_offlinekit cold "$i"
    printf '   %-7s cold run %d  dnf %6.3f s   offlinekit %6.3f s\n' "$c" "$i" "$(tail -n1 "$work/dnf.$c.cold.time.$i" | cut -d' ' -f1)" "$(tail -n1 "$work/ok.$c.cold.time.$i" | cut -d' ' -f1)"
  done
  run_dnf warm 0; run_offlinekit warm 0 # fill each tool's cache, untimed
  for i in $(seq 1 "$runs"); do
    run_dnf warm "$i"; run_offlinekit warm "$i"
    printf '   %-7s warm run %d  dnf %6.3f s   offlinekit %6.3f s\n' "$c" "$i" "$(tail -n1 "$work/dnf.$c.warm.time.$i" | cut -d' ' -f1)" "$(tail -n1 "$work/ok.$c.warm.time.$i" | cut -d' ' -f1)"
  done
  rm -f "$work"/*."$c".*.time.0
done
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== results (best of $runs; OS shape, then AppStream metadata compressed as named)"
printf '%-44s %8s %8s %8s %10s %14s\n' candidate "wall s" "cpu s" "RSS MB" packages "÷ dnf (wall)"
all_same=yes; max_rss=0; verdicts=()
for c in "${sets[@]}"; do
  for mode in cold warm; do
    read -r ok_wall ok_cpu ok_rss <<<"$(best "ok.$c.$mode")"
    read -r dnf_wall dnf_cpu dnf_rss <<<"$(best "dnf.$c.$mode")"
    nevras "$work/dnf.$c.$mode.out.1" > "$work/dnf.$c.$mode.nevras"
    sort "$work/ok.$c.$mode.out.1" > "$work/ok.$c.$mode.nevras"
    ok_count=$(wc -l < "$work/ok.$c.$mode.nevras"); dnf_count=$(wc -l < "$work/dnf.$c.$mode.nevras")
    if ! cmp -s "$work/ok.$c.$mode.nevras" "$work/dnf.$c.$mode.nevras" || (( ok_count == 0 )); then
      all_same=no
      echo "   closures differ ($c, $mode):"; diff "$work/dnf.$c.$mode.nevras" "$work/ok.$c.$mode.nevras" | sed 's/^/     /' || true
    fi
    (( ok_rss > max_rss )) && max_rss=$ok_rss
    ratio=$(awk -v a="$ok_wall" -v b="$dnf_wall" 'BEGIN {printf "%.2f", a/b}')
    printf '%-44s %8s %8s %8d %10d\n' "$c $mode: dnf install --assumeno" "$dnf_wall" "$dnf_cpu" $((dnf_rss / 1024)) "$dnf_count"
    printf '%-44s %8s %8s %8d %10d %14s\n' "$c $mode: offlinekit rpms resolve" "$ok_wall" "$ok_cpu" $((ok_rss / 1024)) "$ok_count" "$ratio"
    if [[ $mode == cold && $c == *-large ]]; then
      verdicts+=("info  $c $mode: offlinekit $ok_wall s / dnf $dnf_wall s = $ratio, peak RSS offlinekit $((ok_rss / 1024)) MB, dnf $((dnf_rss / 1024)) MB (memory at size; the time target is the ~10,000-package sets)")
    elif [[ $mode == cold ]]; then
      awk -v r="$ratio" 'BEGIN {exit !(r <= 0.33)}' && verdict=PASS || verdict=MISS
      verdicts+=("$verdict  $c $mode: offlinekit $ok_wall s / dnf $dnf_wall s = $ratio (target <= 0.33)")
    else
      verdicts+=("info  $c $mode: offlinekit $ok_wall s / dnf $dnf_wall s = $ratio (no target)")
    fi
  done
done

echo
echo "== targets"
if [[ $all_same == yes ]]; then
  echo "PASS  same closure as dnf, every OS shape and compression, cold and warm"
else
  echo "MISS  closures differ (above)"
fi
printf '%s\n' "${verdicts[@]}"
(( max_rss / 1024 <= 200 )) && echo "PASS  peak RSS $((max_rss / 1024)) MB (target <= 200 MB)" || echo "MISS  peak RSS $((max_rss / 1024)) MB (target <= 200 MB)"
