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

bin=${CLOSESYNC:-}
if [ -z "$bin" ]; then
	bin=$work/closesync
	go build -o "$bin" ./cmd/closesync
fi
go build -o "$work/closefake" ./internal/closefake/cmd/closefake

printf '%8s %14s %8s %8s %10s\n' leads peak_rss_MiB wall_s cpu_s file_MiB
for n in "${@:-5000}"; do
	# The previous size's address must not be taken for this one's.
	rm -f "$work/url"
	"$work/closefake" --scale "$n" --addr 127.0.0.1:0 >"$work/url" &
	fake_pid=$!
	# Generating 100,000 leads takes the fake a minute or more on a busy machine.
	for _ in $(seq 6000); do [ -s "$work/url" ] && break; sleep 0.1; done
	url=$(head -n1 "$work/url")
	if [ -z "$url" ]; then
		echo "rss.sh: the fake did not start within 10 minutes" >&2
		exit 1
	fi
	rm -f "$work"/db.duckdb*
	cat >"$work/config.yaml" <<YAML
database: $work/db.duckdb
log: {level: warn, format: json}
accounts:
  - name: bench
    api_key: api_demo0000000000000000000000
    base_url: $url
jobs:
  - name: bench
    account: bench
    schedule: "@hourly"
    reports: [leads]
${EXTRA_YAML:-}
YAML
	/usr/bin/time -v "$bin" sync --config "$work/config.yaml" >"$work/out" 2>"$work/time" || {
		cat "$work/out" "$work/time" >&2
		exit 1
	}
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
	fake_pid=
	rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time" | awk -F: '{s=0; for (i=1; i<=NF; i++) s=s*60+$i; print s}')
	user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
	sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
	size=$(du -m "$work/db.duckdb" | cut -f1)
	printf '%8d %14.0f %8.1f %8.1f %10d\n' "$n" "$(echo "$rss_kb / 1024" | bc -l)" "$wall" "$(echo "$user + $sys" | bc -l)" "$size"
done
