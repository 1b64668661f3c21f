# Shared by the bench/ scripts (sourced, not run): their common prerequisites, said once.

# die MESSAGE: stop, naming the script.
die() { echo "bench/$(basename "$0"): $*" >&2; exit 1; }

# need_offlinekit: $OFFLINEKIT exists and is executable; make it an absolute path (scripts cd around).
need_offlinekit() {
    [[ -x $OFFLINEKIT ]] || die "$OFFLINEKIT: not found or not executable; run 'make publish' first (or set OFFLINEKIT)"
    OFFLINEKIT=$(cd "$(dirname "$OFFLINEKIT")" && pwd)/$(basename "$OFFLINEKIT")
}

# need_gnu_time: GNU time, not the shell keyword: only it reports the peak RSS ("Maximum resident set size").
need_gnu_time() {
    [[ -x /usr/bin/time ]] && return 0
    die "/usr/bin/time is missing: run 'sudo bash tests/lab/prerequisites.sh' (or 'make bench', which does)"
}
