#!/usr/bin/env bash
# bench/rpms.sh: resolving the spec's RPM closure, offlinekit side by side with dnf, in one run.
#
# Both read the same metadata-only repositories (the real EL8 graph of the spec's packages plus
# generated packages to the size of BaseOS+AppStream) from disk and solve the same request: parse +
# solve, no RPM downloads. Two sets of rounds:
#   cold: no cache for either (dnf: a fresh installroot and cachedir; offlinekit: a fresh --cache),
#         so both parse the XML metadata;
#   warm: each tool's own cache filled by one untimed run first (dnf: its solv/solvx cache;
#         offlinekit: its parsed-metadata cache), so neither parses XML again.
# Prints times, both closures' sizes and whether they are equal, and offlinekit's peak RSS.
# Targets (issue 4): same closure, >= 3x faster than dnf, peak RSS <= 300 MB; judged cold and warm apart.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
offlinekit="${OFFLINEKIT:-$repo_root/dist/linux-x64/offlinekit}"
runs="${RUNS:-3}"
extra="${EXTRA_PACKAGES:-10000}"

for tool in dnf /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/rpms.sh: $tool is missing (apt-get install dnf time)" >&2; exit 1; }
done
[[ -x "$offlinekit" ]] || { echo "bench/rpms.sh: $offlinekit is missing; run make publish" >&2; exit 1; }

work="$(mktemp -d /tmp/offlinekit-bench-rpms.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== preparing (scratch: $work)"
dotnet build "$repo_root/tests/lab/LabTool" -c Release -o "$work/labtool" -v q -nologo >/dev/null
dotnet "$work/labtool/LabTool.dll" gen-rpm-repos "$work/repos" --extra "$extra"
base="$work/repos/aliyun"
primary_sizes=$(find "$base" -name '*-primary.xml.gz' -printf '%s\n' | awk '{s+=$1} END {printf "%.1f", s/1e6}')
echo "   primary.xml.gz total: ${primary_sizes} MB"

request=(kubelet-1.23.0 kubeadm-1.23.0 kubectl-1.23.0 docker-ce-20.10.24 docker-ce-cli-20.10.24 containerd.io chrony)
repos=(
  "k8s,$base/kubernetes/yum/repos/kubernetes-el7-x86_64/"
  "docker,$base/docker-ce/linux/centos/8/x86_64/stable/"
  "baseos,$base/centos-vault/8.5.2111/BaseOS/x86_64/os/"
  "appstream,$base/centos-vault/8.5.2111/AppStream/x86_64/os/"
)

run_offlinekit() { # $1 = mode (cold|warm), $2 = round
  local cache="$work/okcache.$1.$2"
  [[ $1 == warm ]] && cache="$work/okcache.warm"
  [[ $1 == cold ]] && rm -rf "$cache"
  /usr/bin/time -f '%e %U %S %M' -o "$work/ok.$1.time.$2" \
    "$offlinekit" rpms resolve --k8s 1.23.0 --url-mirror "https://mirrors.aliyun.com/=file://$base/" --cache "$cache" \
    > "$work/ok.$1.out.$2"
}

run_dnf() { # $1 = mode (cold|warm), $2 = round
  local root="$work/dnfroot.$1.$2" args=()
  [[ $1 == warm ]] && root="$work/dnfroot.warm"
  if [[ $1 == cold ]]; then rm -rf "$root"; fi
  mkdir -p "$root"
  for r in "${repos[@]}"; do args+=("--repofrompath=$r"); done
  # --assumeno: parse + solve, print the transaction, install nothing (exit 1 is expected).
  /usr/bin/time -f '%e %U %S %M' -o "$work/dnf.$1.time.$2" \
    dnf --noplugins --nogpgcheck --installroot="$root" --releasever=8 --setopt=reposdir=/dev/null \
      --setopt=cachedir="$root/cache" --setopt=install_weak_deps=False --setopt=best=True \
      --disablerepo='*' "${args[@]}" --enablerepo=k8s,docker,baseos,appstream \
      --assumeno install "${request[@]}" > "$work/dnf.$1.out.$2" 2>&1 || true
}

echo "== measuring: $runs rounds each, cold then warm, best wall time kept ($(nproc) CPUs)"
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do
  run_dnf cold "$i"; run_offlinekit cold "$i"
  printf '   cold run %d  dnf %6.3f s   offlinekit %6.3f s\n' "$i" "$(tail -n1 "$work/dnf.cold.time.$i" | cut -d' ' -f1)" "$(tail -n1 "$work/ok.cold.time.$i" | cut -d' ' -f1)"
done
run_dnf warm 0; run_offlinekit warm 0 # fill each tool's cache, untimed
for i in $(seq 1 "$runs"); do
  run_dnf warm "$i"; run_offlinekit warm "$i"
  printf '   warm run %d  dnf %6.3f s   offlinekit %6.3f s\n' "$i" "$(tail -n1 "$work/dnf.warm.time.$i" | cut -d' ' -f1)" "$(tail -n1 "$work/ok.warm.time.$i" | cut -d' ' -f1)"
done
rm -f "$work"/*.time.0

best() { # $1 = prefix: prints "wall cpu rssKB" of the fastest round
  # time(1) puts "Command exited with non-zero status" first when dnf says no (--assumeno).
  for f in "$work/$1".time.*; do tail -n1 "$f" | awk '{printf "%s %.2f %s\n", $1, $2+$3, $4}'; done | sort -n | head -1
}

nevras() { # $1 = dnf output: dnf's transaction table, as NEVRAs: "name arch [epoch:]version-release repo size".
  awk '/^Installing( dependencies)?:/{on=1; next} /^Transaction Summary/{on=0} on && NF>=5 {
         v=$3; if (v !~ /:/) v="0:" v; print $1 "-" v "." $2 }' "$1" | sort
}

echo
echo "== results (best of $runs)"
printf '%-40s %8s %8s %8s %10s\n' candidate "wall s" "cpu s" "RSS MB" packages
all_same=yes; max_rss=0
for mode in cold warm; do
  read -r ok_wall ok_cpu ok_rss <<<"$(best "ok.$mode")"
  read -r dnf_wall dnf_cpu dnf_rss <<<"$(best "dnf.$mode")"
  nevras "$work/dnf.$mode.out.1" > "$work/dnf.$mode.nevras"
  sort "$work/ok.$mode.out.1" > "$work/ok.$mode.nevras"
  ok_count=$(wc -l < "$work/ok.$mode.nevras"); dnf_count=$(wc -l < "$work/dnf.$mode.nevras")
  cmp -s "$work/ok.$mode.nevras" "$work/dnf.$mode.nevras" || all_same=no
  (( ok_rss > max_rss )) && max_rss=$ok_rss
  printf '%-40s %8s %8s %8d %10d\n' "$mode: dnf install --assumeno" "$dnf_wall" "$dnf_cpu" $((dnf_rss / 1024)) "$dnf_count"
  printf '%-40s %8s %8s %8d %10d\n' "$mode: offlinekit rpms resolve" "$ok_wall" "$ok_cpu" $((ok_rss / 1024)) "$ok_count"
  declare "ratio_$mode=$(awk -v a="$dnf_wall" -v b="$ok_wall" 'BEGIN {printf "%.2f", a/b}')"
done

echo
echo "== targets"
if [[ $all_same == yes ]]; then
  echo "PASS  same closure, cold and warm ($ok_count packages)"
else
  echo "MISS  closures differ:"
  for mode in cold warm; do diff "$work/dnf.$mode.nevras" "$work/ok.$mode.nevras" || true; done
fi
for mode in cold warm; do
  r=ratio_$mode
  awk -v r="${!r}" 'BEGIN {exit !(r >= 3)}' && verdict=PASS || verdict=MISS
  echo "$verdict  $mode: offlinekit is ${!r}x faster than dnf (target >= 3x)"
done
(( max_rss / 1024 <= 300 )) && echo "PASS  peak RSS $((max_rss / 1024)) MB (target <= 300 MB)" || echo "MISS  peak RSS $((max_rss / 1024)) MB (target <= 300 MB)"
