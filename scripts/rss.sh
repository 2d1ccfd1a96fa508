#!/usr/bin/env bash
# rss.sh: peak RSS of one `closesync sync` of the leads report, with the fake
# Close API in another process (internal/closefake/cmd/closefake), measured by
# /usr/bin/time -v. README "Memory" has the figures.
#
#   scripts/rss.sh 5000 20000          # leads per organisation, one run each
#   CLOSESYNC=./closesync scripts/rss.sh 5000   # an already built binary
#   EXTRA_YAML=$'duckdb:\n  memory_limit: 1GB' scripts/rss.sh 5000
#
# For each size it prints: leads, peak RSS (MiB), wall (s), CPU (s), file (MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/closesync-rss.XXXXXX)
fake_pid=
cleanup() {
	if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

. scripts/fake.sh
build_binaries

printf '%8s %14s %8s %8s %10s\n' leads peak_rss_MiB wall_s cpu_s file_MiB
for n in "${@:-5000}"; do
	start_fake "$n" rss.sh
	rm -f "$work"/db.duckdb*
	bench_config leads
	printf '%s\n' "${EXTRA_YAML:-}" >>"$work/config.yaml"
	/usr/bin/time -v "$bin" sync --config "$work/config.yaml" >"$work/out" 2>"$work/time" || {
		cat "$work/out" "$work/time" >&2
		exit 1
	}
	stop_fake
	time_fields "$work/time"
	size=$(du -m "$work/db.duckdb" | cut -f1)
	printf '%8d %14.0f %8.1f %8.1f %10d\n' "$n" "$rss_mib" "$wall_s" "$cpu_s" "$size"
done
