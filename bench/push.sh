#!/usr/bin/env bash
# bench/push.sh — how fast does `offlinekit install` push a bundle to the lab hosts, next to scp?
#
# Builds a ~1 GiB bundle of random data (every host gets all of it but a small control-plane image
# part), starts the lab hosts (tests/lab/hosts-up.sh), then times, side by side in one run:
#   scp BUNDLE.tar                         to k8s-master's sshd (the peer)
#   scp + ssh sha256sum -c                 the peer with the on-host check offlinekit also does
#   offlinekit install, one host           push + on-host sha256sum --check (its push step alone too)
#   offlinekit install, three hosts        in parallel
#   offlinekit install again               nothing to send: remote sha256 + check only
# Every offlinekit run stops at the first bring-up step (its synthetic bundle has no prepare-host.sh);
# its push and verify are what is measured. Prints throughput, ratios and offlinekit's peak RSS.
#
# A report, not a test: PASS/MISS per target, exit 0 either way (non-zero only when it could not measure).
#
# Usage: bash bench/push.sh        (needs root for the lab; `make publish` first)
# Environment: OFFLINEKIT (default dist/linux-x64/offlinekit), RUNS (default 2, best kept),
#              COMMON_MIB / RPMS / RPM_MIB (bundle shape, default 768 + 10 x 25 MiB)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
OFFLINEKIT=${OFFLINEKIT:-dist/linux-x64/offlinekit}
RUNS=${RUNS:-2}
COMMON_MIB=${COMMON_MIB:-768}
RPMS=${RPMS:-10}
RPM_MIB=${RPM_MIB:-25}
TARGET_ONE=1.25     # one host: offlinekit time / scp time
TARGET_THREE=2.0    # three hosts in parallel / one host
TARGET_RSS_MB=200

# shellcheck source=bench/lib.sh
source bench/lib.sh  # the script has cd'd to the repo root

[[ $EUID -eq 0 ]] || die "needs root (the lab hosts are network namespaces)"
need_offlinekit
need_gnu_time
for tool in scp ssh sha256sum awk dotnet; do command -v "$tool" >/dev/null || die "'$tool' is required"; done
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is required"

WORK=$(mktemp -d /tmp/offlinekit-bench-push.XXXXXX)
chmod 755 "$WORK"  # the lab user must reach the lab folder inside it
export OFFLINEKIT_LAB_DIR=$WORK/lab
cleanup() { bash "$REPO/tests/lab/hosts-down.sh" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== preparing (scratch: $WORK)"
mkdir -p "$WORK/src/images" "$WORK/src/rpms"
head -c "${COMMON_MIB}M" /dev/urandom >"$WORK/src/images/common.tar"
echo "docker.io/calico/node:v3.25.2" >"$WORK/src/images/common.images"
head -c 4M /dev/urandom >"$WORK/src/images/control-plane.tar"
echo "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0" >"$WORK/src/images/control-plane.images"
for i in $(seq 1 "$RPMS"); do head -c "${RPM_MIB}M" /dev/urandom >"$WORK/src/rpms/package-$i.el8.x86_64.rpm"; done
dotnet build "$REPO/bench/BundleMaker" -c Release -o "$WORK/bundlemaker" -nologo -v quiet >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; die "building bench/BundleMaker failed"; }
dotnet "$WORK/bundlemaker/BundleMaker.dll" "$WORK/src" "$WORK/out" | sed 's/^/   /'
rm -rf "$WORK/src"
NAME=offlinekit-k8s-1.23.0-el8-amd64
TARBALL=$WORK/out/$NAME.tar
BYTES=$(stat -c %s "$TARBALL")
cat "$TARBALL" >/dev/null   # warm: every candidate reads from the page cache

echo "   starting the lab hosts"
bash "$REPO/tests/lab/hosts-up.sh" | sed 's/^/   /'
# shellcheck disable=SC1091
source "$OFFLINEKIT_LAB_DIR/lab.env"
read -r -a ADDR <<<"$LAB_ADDRESSES"
for a in "${ADDR[@]}"; do
  route=$(ip route get "$a")
  [[ $route == *" dev oklab-"* || ( $LAB_MODE == loopback && $route == *" dev lo"* ) ]] || die "$a is not routed to a lab link: $route"
done
SSH_OPTS=(-i "$LAB_KEY" -o "UserKnownHostsFile=$LAB_DIR/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)

inventory() {  # inventory STATE N: the first N lab hosts as root with the lab key, state under STATE
  local state=$1 n=$2 i names=(k8s-master k8s-node01 k8s-node02)
  echo "apiVersion: offlinekit/v1"; echo "kind: Inventory"; echo "defaults:"
  echo "  port: $LAB_PORT"; echo "  user: root"; echo "  auth: {privateKey: $LAB_KEY}"; echo "hosts:"
  for ((i = 0; i < n; i++)); do
    echo "  - name: ${names[$i]}"; echo "    address: ${ADDR[$i]}"
    if ((i == 0)); then echo "    roles: [control-plane]"; else echo "    roles: [worker]"; fi
    echo "    stateDir: $LAB_DIR/${names[$i]}/root/var/lib/$state"
  done
}

declare -A TIME RSS PUSH CPU
measure() {  # measure KEY RUN COMMAND...: wall time, CPU time and peak RSS of one run
  local key=$1 run=$2 start end wall rss cpu
  shift 2
  start=$EPOCHREALTIME
  /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/last.out" 2>&1 || true
  end=$EPOCHREALTIME
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")
  cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$WORK/time.txt")
  printf '   run %d  %-36s %7.3f s  cpu %6.2f s  rss %4d MB\n' "$run" "$key" "$wall" "$cpu" $((rss * 1024 / 1000000))
  if [[ -z ${TIME[$key]:-} ]] || awk -v w="$wall" -v b="${TIME[$key]}" 'BEGIN { exit !(w < b) }'; then TIME[$key]=$wall CPU[$key]=$cpu; fi
  if ((rss > ${RSS[$key]:-0})); then RSS[$key]=$rss; fi
}

push_seconds() {  # push_seconds LOG: the push step's duration, from the host log's timestamps
  awk '/== push: push/ { split($1, a, ":"); s = a[1] * 3600 + a[2] * 60 + a[3] }
       /== push: done/ { split($1, a, ":"); e = a[1] * 3600 + a[2] * 60 + a[3] }
       END { printf "%.3f", e - s }' "$1"
}

check_supplied() {  # every host of the last install pushed and verified, and stopped at the bring-up
  local n=$1
  [[ $(grep -c "FAILED at prepare: the bundle has no" "$WORK/last.out" || true) -ge "$n" ]] \
    || { cat "$WORK/last.out" >&2; die "offlinekit install did not push and verify on $n host(s)"; }
}

echo "== measuring: $RUNS rounds, best kept ($(nproc) CPUs, $(awk -v b="$BYTES" 'BEGIN { printf "%.2f GiB", b / 2^30 }') bundle)"
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
  dest=$LAB_DIR/k8s-master/root/var/lib/scp-$run
  ssh "${SSH_OPTS[@]}" -p "$LAB_PORT" "root@${ADDR[0]}" "mkdir -p $dest"
  measure "scp" "$run" scp -q "${SSH_OPTS[@]}" -P "$LAB_PORT" "$TARBALL" "root@${ADDR[0]}:$dest/"
  rm -rf "$dest"; mkdir -p "$dest"
  measure "scp + ssh sha256sum -c" "$run" bash -c "scp -q $(printf '%q ' "${SSH_OPTS[@]}") -P $LAB_PORT $TARBALL $TARBALL.sha256 root@${ADDR[0]}:$dest/ \
    && ssh $(printf '%q ' "${SSH_OPTS[@]}") -p $LAB_PORT root@${ADDR[0]} 'cd $dest && sha256sum -c --quiet $NAME.tar.sha256'"
  rm -rf "$dest"
  # The peer for the three-host figure: the same file to the three sshds at once.
  for i in 0 1 2; do
    ssh "${SSH_OPTS[@]}" -p "$LAB_PORT" "root@${ADDR[$i]}" "mkdir -p $LAB_DIR/scp3-$run"
  done
  measure "scp to three hosts in parallel" "$run" bash -c "for a in ${ADDR[*]}; do scp -q $(printf '%q ' "${SSH_OPTS[@]}") -P $LAB_PORT $TARBALL root@\$a:$LAB_DIR/scp3-$run/\$a.tar & done; wait"
  rm -rf "$LAB_DIR/scp3-$run"

  inventory "one-$run" 1 >"$WORK/one.yaml"
  measure "offlinekit, one host" "$run" "$OFFLINEKIT" install "$TARBALL" --inventory "$WORK/one.yaml" \
    --known-hosts "$LAB_DIR/known_hosts" --runs-dir "$WORK/runs-one-$run"
  check_supplied 1
  p=$(push_seconds "$(ls "$WORK"/runs-one-"$run"/*/k8s-master.log)")
  if [[ -z ${PUSH[one]:-} ]] || awk -v w="$p" -v b="${PUSH[one]}" 'BEGIN { exit !(w < b) }'; then PUSH[one]=$p; fi
  measure "offlinekit, one host, again" "$run" "$OFFLINEKIT" install "$TARBALL" --inventory "$WORK/one.yaml" \
    --known-hosts "$LAB_DIR/known_hosts" --runs-dir "$WORK/runs-again-$run"
  check_supplied 1
  grep -q "0 sent, 0 continued" "$WORK/last.out" || die "the second install sent files again: $(cat "$WORK/last.out")"
  rm -rf "$LAB_DIR/k8s-master/root/var/lib/one-$run"

  inventory "three-$run" 3 >"$WORK/three.yaml"
  measure "offlinekit, three hosts in parallel" "$run" "$OFFLINEKIT" install "$TARBALL" --inventory "$WORK/three.yaml" \
    --known-hosts "$LAB_DIR/known_hosts" --runs-dir "$WORK/runs-three-$run"
  check_supplied 3
  rm -rf "$LAB_DIR"/k8s-*/root/var/lib/three-"$run"
done

echo
echo "== where one host's time goes (run 1, k8s-master's log; the whole run took the 'offlinekit, one host' time above)"
grep -E ' (== |\$ cd .*sha256sum|connected|install |result)' "$(ls "$WORK"/runs-one-1/*/k8s-master.log)" | cut -c1-150 | sed 's/^/   /'

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbps() { awk -v bytes="$BYTES" -v s="$1" 'BEGIN { printf "%.0f", bytes / s / 1e6 }'; }
mb() { echo $(( $1 * 1024 / 1000000 )); }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }'; }

echo
echo "== results (best of $RUNS; MB = 10^6 bytes; MB/s per host over the $(mbps 1) MB bundle)"
printf '%-38s %9s %9s %9s %8s\n' "candidate" "wall s" "cpu s" "MB/s" "RSS MB"
for key in "scp" "scp + ssh sha256sum -c" "scp to three hosts in parallel" "offlinekit, one host" "offlinekit, one host, again" "offlinekit, three hosts in parallel"; do
  printf '%-38s %9.3f %9s %9s %8s\n' "$key" "${TIME[$key]}" "${CPU[$key]}" "$(mbps "${TIME[$key]}")" "$(mb "${RSS[$key]}")"
done
printf '%-38s %9.3f %9s %9s %8s\n' "  (its push step alone, from its log)" "${PUSH[one]}" "-" "$(mbps "${PUSH[one]}")" "-"

one=${TIME["offlinekit, one host"]}
r_check=$(ratio "$one" "${TIME["scp + ssh sha256sum -c"]}")
r_scp=$(ratio "$one" "${TIME[scp]}")
r_push=$(ratio "${PUSH[one]}" "${TIME[scp]}")
r_three=$(ratio "${TIME["offlinekit, three hosts in parallel"]}" "$one")
echo
echo "== targets"
printf '%-4s  one host, push + on-host check vs scp + ssh sha256sum -c: %5sx  (target <= %s)\n' "$(verdict "$r_check" $TARGET_ONE)" "$r_check" $TARGET_ONE
printf '%-4s  one host, push step alone vs scp:                       %5sx  (target <= %s)\n' "$(verdict "$r_push" $TARGET_ONE)" "$r_push" $TARGET_ONE
printf '%-4s  one host, whole install vs scp alone:                   %5sx  (target <= %s; offlinekit also hashes on the host)\n' "$(verdict "$r_scp" $TARGET_ONE)" "$r_scp" $TARGET_ONE
printf '%-4s  three hosts in parallel vs one host:                    %5sx  (target <= %s)\n' "$(verdict "$r_three" $TARGET_THREE)" "$r_three" $TARGET_THREE
printf '      (the peer on this machine: scp to three hosts at once is %sx one scp; the sshds share its %d CPUs)\n' "$(ratio "${TIME["scp to three hosts in parallel"]}" "${TIME[scp]}")" "$(nproc)"
for key in "offlinekit, one host" "offlinekit, three hosts in parallel"; do
  rss=$(mb "${RSS[$key]}")
  printf '%-4s  peak RSS, %-44s %5s MB (target <= %s MB)\n' "$( ((rss <= TARGET_RSS_MB)) && echo PASS || echo MISS)" "$key:" "$rss" $TARGET_RSS_MB
done
