#!/usr/bin/env bash
# bench/scale.sh — issue 14's scale figures: what a site-mode install costs as the host count grows.
#
# 1. In-process (bench/ScaleSim): the real InstallPlanner and step scheduler (waves, turns, journals,
#    per-host logs, the depot's push read from a real bundle) against 10 … 1,000 simulated hosts that
#    answer over an in-memory connector instead of SSH, site mode beside pushed mode. Each count runs in
#    a fresh process; it prints the plan's time, the run's time, the bytes the hosts were sent and the
#    process's peak RSS (VmHWM). Time and memory per host should stay flat as the count grows (linear).
#    The simulated bundle has the real 1.23 bundle's size (~545 MB; archives of zeros, uploads counted by
#    length); node_max_KB is what the hosts other than the depot were each sent at most.
#    Targets: peak RSS <= 200 MB at 1,000 hosts; site-mode bytes <= 1.05 x the bundle at any count.
# 2. The lab: 3, 10 and 30 network-namespace hosts (tests/lab/hosts-up.sh, OFFLINEKIT_LAB_HOSTS) over
#    real SSH, the bundle `make demo` builds (plus nginx for the depot), `offlinekit install --supply-only`
#    (the light step set: the bundle onto the site and checked; the bring-up steps would start a dockerd
#    per host, too much for 2 cores at 30): pushed mode (every host gets its share over SSH) beside site
#    mode (k8s-master the depot: push, verify, serve with nginx and the registry stand-in seeded by
#    images push; every other host fetches and verifies). Prints the bytes this machine sent to the lab's
#    links (an iptables OUTPUT counter: what offlinekit sent, not the depot's traffic to the nodes), the
#    wall time, and offlinekit's peak RSS (/usr/bin/time).
#    Targets: site bytes <= 1.05 x the bundle at any count; site wall time at 30 hosts <= 3 x at 3.
#    Needs root (the lab); LAB=0 skips this part.
#
# A report, not a test: PASS/MISS per target, exit 0 either way (non-zero only when it could not measure).
#
# Usage: bash bench/scale.sh      (`make publish` first for the lab part)
# Environment: COUNTS (default "10 100 250 500 1000"), LAB_COUNTS (default "3 10 30"), LAB (default 1),
#              OFFLINEKIT (default dist/linux-x64/offlinekit), KEEP_WORK=1 keeps the work folder (per-host logs)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
COUNTS=${COUNTS:-"10 100 250 500 1000"}
TARGET_RSS_MB=200
TARGET_BYTES=1.05     # site mode: bytes the operator's machine sends / the bundle
TARGET_LINEAR=2.0     # per-host time or memory at the largest count / at the smallest count above 10

LAB=${LAB:-1}
LAB_COUNTS=${LAB_COUNTS:-"3 10 30"}
OFFLINEKIT=${OFFLINEKIT:-dist/linux-x64/offlinekit}
TARGET_WALL=3.0       # site mode: wall time at the largest lab count / at the smallest

# shellcheck source=bench/lib.sh
source bench/lib.sh
if [[ $LAB == 1 ]]; then
  # shellcheck source=tests/lab/lab-setup.sh
  source tests/lab/lab-setup.sh
  lab_require_root bench/scale.sh
  lab_lock bench/scale.sh "$REPO/bench/scale.sh" "$@"
  need_offlinekit
  need_gnu_time
fi

WORK=$(mktemp -d /tmp/offlinekit-bench-scale.XXXXXX)
chmod 755 "$WORK"  # the lab user must reach the hosts' folders inside it
COUNTER=""
cleanup() {
  [[ -z $COUNTER ]] || iptables -D OUTPUT -o 'oklab-+' -m comment --comment "$COUNTER" 2>/dev/null || true
  [[ $LAB != 1 ]] || lab_stop
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "kept $WORK (KEEP_WORK=1): the runs' per-host logs are in runs-MODE-COUNT/"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "interrupted; stopping the lab" >&2; exit 130' INT
trap 'echo "terminated; stopping the lab" >&2; exit 143' TERM

echo "== building bench/ScaleSim"
dotnet build "$REPO/bench/ScaleSim" -c Release -o "$WORK/scalesim" -nologo -v quiet >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; die "building bench/ScaleSim failed"; }

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

echo "== in-process planner + scheduler against simulated hosts (parallel 10, waves of 50)"
# One simulated bundle for every run, the real 1.23 bundle's size (its archives zeros; hosts count uploads by length).
printf '%-7s %-7s %9s %9s %13s %12s %12s %9s %12s %12s\n' mode hosts plan_s run_s sent_MB sent/bundle node_max_KB rss_MB rss_KB/host run_ms/host
declare -A RSS RUN
for mode in site pushed; do
  for n in $COUNTS; do
    line=$(dotnet "$WORK/scalesim/ScaleSim.dll" "$n" "$mode" "$WORK/sim") || die "ScaleSim $n $mode failed: $line"
    plan=$(field plan_s "$line"); run=$(field run_s "$line"); sent=$(field sent_bytes "$line")
    bundle=$(field bundle_bytes "$line"); rss=$(field peak_rss_mb "$line"); node=$(field node_bytes_max "$line")
    RSS[$mode.$n]=$rss; RUN[$mode.$n]=$run
    awk -v m="$mode" -v n="$n" -v p="$plan" -v r="$run" -v s="$sent" -v b="$bundle" -v rss="$rss" -v node="$node" 'BEGIN {
      printf "%-7s %-7d %9.3f %9.3f %13.1f %12.3f %12.1f %9.1f %12.1f %12.2f\n", m, n, p, r, s / 1048576, s / b, node / 1024, rss, rss * 1024 / n, r * 1000 / n }'
    if [[ $mode == site ]]; then
      SITE_RATIO_MAX=$(awk -v s="$sent" -v b="$bundle" -v cur="${SITE_RATIO_MAX:-0}" 'BEGIN { r = s / b; print (r > cur ? r : cur) }')
    fi
  done
done

echo "   (the simulated bundle: $bundle bytes, $(awk -v b="$bundle" 'BEGIN { printf "%.0f", b / 1048576 }') MB, shaped like the real 1.23 one; sent = every upload and command line;"
echo "    node_max_KB = the most one host other than the depot was sent: in site mode it must not grow with the count)"
counts=($COUNTS)
largest=${counts[-1]}
small=${counts[1]:-${counts[0]}}
echo
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "PASS" : "MISS") }'; }
rss=${RSS[site.$largest]}
echo "peak RSS at $largest simulated hosts (site): $rss MB (target <= $TARGET_RSS_MB MB at 1000): $(verdict "$rss" "$TARGET_RSS_MB")"
echo "site-mode bytes / bundle, worst count: $SITE_RATIO_MAX (target <= $TARGET_BYTES): $(verdict "$SITE_RATIO_MAX" "$TARGET_BYTES")"
growth=$(awk -v a="${RUN[site.$largest]}" -v na="$largest" -v b="${RUN[site.$small]}" -v nb="$small" 'BEGIN { printf "%.2f", (a / na) / (b / nb) }')
echo "run time per host, $largest vs $small hosts (site): x$growth (target <= $TARGET_LINEAR, linear): $(verdict "$growth" "$TARGET_LINEAR")"
echo
if [[ $LAB != 1 ]]; then
  echo "== the lab part skipped (LAB=$LAB)"
  exit 0
fi

echo "== the lab: $LAB_COUNTS namespace hosts, install --supply-only, pushed beside site"
lab_sources_start "$WORK/sources"
"$OFFLINEKIT" spec show --k8s 1.23.0 | sed 's/^  - chrony$/  - chrony\n  - nginx/' >"$WORK/site-spec.yaml"
grep -q '^  - nginx$' "$WORK/site-spec.yaml" || die "could not add nginx to the spec's packages"
TARBALL=$("$OFFLINEKIT" build --k8s 1.23.0 --spec "$WORK/site-spec.yaml" --mirrors "$LAB_MIRRORS" --cache "$WORK/cache" --output "$WORK/out" 2>"$WORK/build.log") \
  || { cat "$WORK/build.log" >&2; die "offlinekit build failed"; }
BYTES=$(stat -c %s "$TARBALL")
echo "   bundle: $(basename "$TARBALL"), $BYTES bytes"

# Bytes this machine's own processes send out of the lab links (forwarded depot-to-node traffic is not
# OUTPUT): a counting rule around each install, its count read, the rule removed.
COUNTER="offlinekit-bench-scale-$$"
sent_so_far() { iptables -L OUTPUT -v -x -n | awk -v c="/* $COUNTER */" 'index($0, c) { print $2; found = 1; exit } END { if (!found) print "n/a" }'; }

declare -A LWALL LBYTES LRSS LRC
printf '   %-7s %6s %10s %14s %12s %8s  %s\n' mode hosts wall_s sent_bytes sent/bundle rss_MB result
for n in $LAB_COUNTS; do
  OFFLINEKIT_LAB_HOSTS=$n lab_hosts_start "$WORK/hosts" >"$WORK/hosts-$n.log" 2>&1 || { cat "$WORK/hosts-$n.log" >&2; die "the lab did not start $n hosts"; }
  echo "   $n lab hosts: the inventory has $(grep -c '^  - name:' "$OFFLINEKIT_LAB_DIR/inventory.yaml") (hosts-up.sh adds k8s-master02/03, here workers)"
  for mode in pushed site; do
    inventory="$OFFLINEKIT_LAB_DIR/inventory-$mode.yaml"   # beside the lab's: its key paths are relative to it
    # Each mode its own state folder on the hosts: site mode must not find pushed mode's copy.
    sed "s|/root/var/lib/offlinekit$|/root/var/lib/offlinekit-$mode|" "$OFFLINEKIT_LAB_DIR/inventory.yaml" >"$inventory"
    [[ $mode == pushed ]] || printf 'cluster:\n  sources: site\n  site: {httpPort: 18080, registryPort: 15000}\n' >>"$inventory"
    iptables -I OUTPUT -o 'oklab-+' -m comment --comment "$COUNTER"
    start=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%M' -o "$WORK/rss-$mode-$n" "$OFFLINEKIT" install "$TARBALL" --inventory "$inventory" --supply-only \
      --known-hosts "$LAB_DIR/known_hosts" --runs-dir "$WORK/runs-$mode-$n" >"$WORK/$mode-$n.out" 2>&1
    LRC[$mode.$n]=$?
    set -e
    LWALL[$mode.$n]=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    LBYTES[$mode.$n]=$(sent_so_far)
    iptables -D OUTPUT -o 'oklab-+' -m comment --comment "$COUNTER" 2>/dev/null || true
    LRSS[$mode.$n]=$(tail -n 1 "$WORK/rss-$mode-$n" | awk '{ printf "%.1f", $1 / 1024 }')   # after "Command exited with …" when it failed
    printf '   %-7s %6d %10s %14s %12s %8s  %s\n' "$mode" "$n" "${LWALL[$mode.$n]}" "${LBYTES[$mode.$n]}" \
      "$(awk -v s="${LBYTES[$mode.$n]}" -v b="$BYTES" 'BEGIN { if (s == "n/a") print "n/a"; else printf "%.3f", s / b }')" "${LRSS[$mode.$n]}" \
      "$(grep '^install: ' "$WORK/$mode-$n.out" | tail -n 1)"
    [[ ${LRC[$mode.$n]} == 0 ]] || { tail -n 30 "$WORK/$mode-$n.out" | sed 's/^/      /'; }
    # Where the time went: each step's mean and max over the hosts that ran it (the per-host logs' timestamps).
    lab_run_rows "$(lab_run_dir "$WORK/runs-$mode-$n")" | awk -F'\t' '
      $1 == "step" && $4 == "done" { n[$3]++; sum[$3] += $5; if ($5 > max[$3]) max[$3] = $5; if (!($3 in seen)) { seen[$3] = 1; order[++k] = $3 } }
      $1 == "span" { if ($3 > span) span = $3 }
      END { line = "      steps (hosts, mean/max s):"; for (i = 1; i <= k; i++) { id = order[i]; line = line sprintf(" %s %d %.1f/%.1f", id, n[id], sum[id] / n[id], max[id]) }
            print line sprintf("; longest host log %.1f s", span) }'
  done
  lab_stop
done

counts=($LAB_COUNTS)
first=${counts[0]}
last=${counts[-1]}
worst=0
for n in $LAB_COUNTS; do
  worst=$(awk -v s="${LBYTES[site.$n]}" -v b="$BYTES" -v w="$worst" 'BEGIN { r = s / b; print (r > w ? r : w) }')
done
echo
echo "lab site-mode bytes / bundle, worst count: $worst (target <= $TARGET_BYTES): $(verdict "$worst" "$TARGET_BYTES")"
wall=$(awk -v a="${LWALL[site.$last]}" -v b="${LWALL[site.$first]}" 'BEGIN { printf "%.2f", a / b }')
echo "lab site-mode wall time, $last vs $first hosts: ${LWALL[site.$last]} s / ${LWALL[site.$first]} s = x$wall (target <= $TARGET_WALL): $(verdict "$wall" "$TARGET_WALL")"
echo "lab pushed-mode bytes at $last hosts: ${LBYTES[pushed.$last]} ($(awk -v s="${LBYTES[pushed.$last]}" -v b="$BYTES" 'BEGIN { printf "%.2f", s / b }') x the bundle)"
for n in $LAB_COUNTS; do
  for mode in pushed site; do
    [[ ${LRC[$mode.$n]} == 0 ]] || echo "note: the $mode install of $n hosts exited ${LRC[$mode.$n]}: its figures cover what it did"
  done
done
