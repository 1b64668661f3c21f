#!/usr/bin/env bash
# bench/install.sh — the whole demo install onto the three lab hosts: how long it takes, where the time
# goes, what it sends; and how long a rerun takes (target: a rerun <= 10% of the first install).
#
# Sets up the demo's lab (tests/lab/lab-setup.sh: a registry, the yum repos of real rpmbuild RPMs, the
# manifests, all on 127.0.0.1), builds the demo's bundle once, starts fresh lab hosts, then times
#   offlinekit install      the first install: push, verify, and every bring-up step the planner has
#   offlinekit install      again on the same hosts: push and verify check and send nothing, the
#                           journal skips the steps done; what is left is its floor
# and prints, from the per-host logs of each run (lines "HH:MM:SS.fff == STEP: ..." and "== STEP: done"),
# a table host x step of seconds, the bytes each host was sent, and the rerun/first ratio.
# The peer is the first install itself: a rerun must cost a small fraction of it.
#
# When the install stops at a step on a host, it says so and the figures cover the steps that ran. A report, not a test: PASS/MISS, exit 0 either way
# (non-zero only when it could not measure).
#
# Usage: bash bench/install.sh    (needs root for the lab; `make publish` first)
# Environment: OFFLINEKIT (default dist/linux-x64/offlinekit)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
OFFLINEKIT=${OFFLINEKIT:-dist/linux-x64/offlinekit}
TARGET_RERUN=0.10   # rerun time / first install time

# shellcheck source=bench/lib.sh
source bench/lib.sh  # the script has cd'd to the repo root
# shellcheck source=tests/lab/lab-setup.sh
source tests/lab/lab-setup.sh

lab_require_root bench/install.sh
lab_lock bench/install.sh "$REPO/bench/install.sh" "$@"
need_offlinekit
lab_require_tools bench/install.sh
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is required"

WORK=$(mktemp -d /tmp/offlinekit-bench-install.XXXXXX)
chmod 755 "$WORK"  # the lab user must reach the hosts' folder inside it
cleanup() { lab_stop; rm -rf "$WORK"; }
trap cleanup EXIT
# Ctrl-C or a kill stops here as soon as the running command returns (a child that handles the signal
# itself, like offlinekit, exits instead of dying of it, so bash alone would carry on); EXIT cleans up.
trap 'echo "interrupted; stopping the lab" >&2; exit 130' INT
trap 'echo "terminated; stopping the lab" >&2; exit 143' TERM

echo "== preparing (scratch: $WORK)"
lab_sources_start "$WORK/sources"   # not piped: it sets LAB_MIRRORS and the PIDs lab_stop ends
start=$EPOCHREALTIME
TARBALL=$("$OFFLINEKIT" build --k8s 1.23.0 --mirrors "$LAB_MIRRORS" --cache "$WORK/cache" --output "$WORK/out" 2>"$WORK/build.log") \
  || { cat "$WORK/build.log" >&2; die "offlinekit build failed"; }
BUILD_S=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
BYTES=$(stat -c %s "$TARBALL")
echo "   bundle: $(basename "$TARBALL"), $BYTES bytes, built in $BUILD_S s"
lab_hosts_start "$WORK/hosts"
INVENTORY=$OFFLINEKIT_LAB_DIR/inventory.yaml   # the demo's: root by key, oklab by password + sudo, root by encrypted key

declare -A TIME RC RUN
install_once() {  # install_once NAME: time one `offlinekit install` of the bundle onto the three hosts
  local name=$1 start
  start=$EPOCHREALTIME
  set +e
  "$OFFLINEKIT" install "$TARBALL" --inventory "$INVENTORY" --known-hosts "$LAB_DIR/known_hosts" \
    --runs-dir "$WORK/runs-$name" >"$WORK/$name.out" 2>&1
  RC[$name]=$?
  set -e
  TIME[$name]=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  RUN[$name]=$(lab_run_dir "$WORK/runs-$name")
  [[ -n ${RUN[$name]} ]] && compgen -G "${RUN[$name]}/*.log" >/dev/null \
    || { cat "$WORK/$name.out" >&2; die "offlinekit install ($name) wrote no host logs"; }
  lab_run_rows "${RUN[$name]}" >"$WORK/$name.rows"
  printf '   %-6s install: %7.3f s, exit %d: %s\n' "$name" "${TIME[$name]}" "${RC[$name]}" "$(grep '^install: ' "$WORK/$name.out" | tail -n 1)"
}

echo "== measuring ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
install_once first
install_once rerun
grep -q "0 sent, 0 continued" "$WORK/rerun.out" || echo "   note: the rerun sent files again (see its summary below)"

# table NAME: host x step seconds from the run's logs, in the order the steps ran.
#   12.345 done   j done in an earlier run (journal)   F1.234 failed after so long   B blocked   . not reached
table() {
  awk -F'\t' '
    $1 == "step" { if (!($3 in seen)) { seen[$3] = 1; steps[++n] = $3 }
                   if (!($2 in known)) { known[$2] = 1; hosts[++m] = $2 }
                   c = $4 == "done" ? sprintf("%.2f", $5) : $4 == "journal" ? "j" : $4 == "failed" ? "F" ($5 == "-" ? "" : sprintf("%.2f", $5)) : "B"
                   cell[$2, $3] = c; if ($4 == "done" || $4 == "failed") sum[$2] += $5 }
    $1 == "span" { span[$2] = $3; if (!($2 in known)) { known[$2] = 1; hosts[++m] = $2 } }
    $1 == "push" { sent[$2] = $4 }
    END {
      printf "   %-12s", "host"; for (i = 1; i <= n; i++) printf " %9s", steps[i]; printf " %9s %9s %13s\n", "steps s", "log s", "bytes sent"
      for (j = 1; j <= m; j++) {
        h = hosts[j]; printf "   %-12s", h
        for (i = 1; i <= n; i++) printf " %9s", ((h, steps[i]) in cell) ? cell[h, steps[i]] : "."
        printf " %9.2f %9.2f %13d\n", sum[h], span[h], sent[h]
      }
    }' "$WORK/$1.rows"
}

echo
echo "== where the time goes: seconds per step on each host, from the hosts' logs"
echo "   (j: done in an earlier run, skipped by the journal; F: failed after so long; B: blocked waiting for another host; .: not reached)"
for name in first rerun; do
  echo "   -- $name install (${TIME[$name]} s wall; logs in ${RUN[$name]})"
  table "$name"
done

total_sent() { awk -F'\t' '$1 == "push" { s += $4 } END { printf "%d", s }' "$WORK/$1.rows"; }
echo
echo "== bytes pushed (the logs' \"push: N sent, ... X bytes sent\"; the bundle is $BYTES bytes, each host gets its role's share)"
printf '   %-8s %14s %10s\n' "install" "bytes sent" "x bundle"
for name in first rerun; do
  printf '   %-8s %14d %10.2f\n' "$name" "$(total_sent "$name")" "$(awk -v s="$(total_sent "$name")" -v b="$BYTES" 'BEGIN { print s / b }')"
done

# What the figures cover: every step that ran; where an install stopped short, say where and why.
stopped() {  # stopped NAME: where the install stopped short, and which steps ran on every host (empty when it finished)
  awk -F'\t' '
    $1 == "step" { if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
    $1 == "step" && ($4 == "done" || $4 == "journal") { ok[$3]++ }
    $1 == "step" && ($4 == "failed" || $4 == "blocked") { stops = stops sep $3 " on " $2 " (" $4 ($6 == "" ? "" : ": " $6) ")"; sep = "; " }
    $1 == "result" { hosts++; if ($3 != "Done") short = 1 }
    END {
      if (!short) exit
      for (i = 1; i <= n; i++) if (ok[order[i]] == hosts) all = all (all == "" ? "" : ", ") order[i]
      printf "it stopped at %s\n", stops == "" ? "(see its logs)" : stops
      printf "the figures cover the steps that ran: %s\n", all == "" ? "none on every host" : all
    }' "$WORK/$1.rows"
}
first_stop=$(stopped first)
rerun_stop=$(stopped rerun)
if [[ -n $first_stop ]]; then
  echo "   note: the first install did not finish (exit ${RC[first]}): $first_stop" | sed '2s/^/         /'
fi
if [[ -n $rerun_stop && $rerun_stop == "$first_stop" ]]; then
  echo "   note: the rerun stopped at the same steps (exit ${RC[rerun]})"
elif [[ -n $rerun_stop ]]; then
  echo "   note: the rerun did not finish (exit ${RC[rerun]}): $rerun_stop" | sed '2s/^/         /'
fi

ratio=$(awk -v a="${TIME[rerun]}" -v b="${TIME[first]}" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$ratio" -v t="$TARGET_RERUN" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }')
echo
echo "== targets"
printf '%-4s  rerun vs first install: %.3f s / %.3f s = %.3fx  (target <= %s)\n' "$verdict" "${TIME[rerun]}" "${TIME[first]}" "$ratio" "$TARGET_RERUN"
echo "      (first install $(printf '%.3f' "${TIME[first]}") s for three hosts in parallel; $(total_sent first) bytes pushed first, $(total_sent rerun) on the rerun)"
# What a rerun still pays for, step by step (mean seconds over the hosts); the rest of its wall time is
# process start-up, SSH connections and the journal reads.
awk -F'\t' -v wall="${TIME[rerun]}" '
  $1 == "step" && ($4 == "done" || $4 == "failed") && $5 != "-" { if (!($3 in s)) order[++n] = $3; s[$3] += $5; c[$3]++ }
  $1 == "span" { span += $3; hosts++ }
  END {
    for (i = 1; i <= n; i++) { k = order[i]; if (s[k] / c[k] >= 0.05) line = line sprintf("%s %.2f s, ", k, s[k] / c[k]) }
    printf "      (the rerun still spends, per host: %sof %.2f s in its log; %.2f s wall)\n", line, span / hosts, wall
  }' "$WORK/rerun.rows"
