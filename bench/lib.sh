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
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing GNU time (Debian package 'time') for peak-RSS figures..."
        apt-get install -y -qq time >/dev/null || die "could not install the Debian package 'time'"
    else
        die "/usr/bin/time is missing: install the Debian package 'time' (apt-get install -y time)"
    fi
}
