#!/usr/bin/env bash
# publish.sh: the cost of publish.parquet for a first sync of the fake Close
# API (internal/closefake/cmd/closefake, in another process): the sync
# without publishing, then `closesync publish` of its file under
# /usr/bin/time -v, with views (the default) and tables only. README "Open
# files for the lakehouse" has the figures.
#
#   scripts/publish.sh 20000                       # leads per organisation
#   REPORTS='leads, contacts, opportunities, activities' scripts/publish.sh 20000
#   CLOSESYNC=./closesync scripts/publish.sh 5000  # an already built binary
#   PUBLISH_YAML=$'  partition_above: 0\n' scripts/publish.sh 20000   # more publish keys
#   KEEP=1 scripts/publish.sh 20000                # keep the database and the last publish
#
# For each size it prints the database's size, then for each publish: wall
# (s), CPU (s), peak RSS (MiB), Parquet size (MiB), tables and views, rows.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/closesync-publish.XXXXXX)
fake_pid=
cleanup() {
	if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
	if [ -n "${KEEP:-}" ]; then
		echo "kept $work (db.duckdb, lake/)" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

bin=${CLOSESYNC:-}
if [ -z "$bin" ]; then
	bin=$work/closesync
	go build -o "$bin" ./cmd/closesync
fi
go build -o "$work/closefake" ./internal/closefake/cmd/closefake
reports=${REPORTS:-leads}

# measure LABEL: closesync publish of $work/db.duckdb into $work/lake.
measure() {
	rm -rf "$work/lake"
	/usr/bin/time -v "$bin" publish --config "$work/config.yaml" >"$work/out" 2>"$work/time" || {
		cat "$work/out" "$work/time" >&2
		exit 1
	}
	rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time" | awk -F: '{s=0; for (i=1; i<=NF; i++) s=s*60+$i; print s}')
	user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
	sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
	size=$(du -sm --dereference-args "$work/lake/.closesync" | cut -f1)
	printf '  %-12s wall %6.1f s  cpu %6.1f s  rss %5.0f MiB  parquet %6d MiB  %s\n' "$1" "$wall" "$(echo "$user + $sys" | bc -l)" \
		"$(echo "$rss_kb / 1024" | bc -l)" "$size" "$(sed -n 's/^publish *[^ ]*: //p' "$work/out")"
}

for n in "${@:-5000}"; do
	rm -f "$work/url"
	"$work/closefake" --scale "$n" --addr 127.0.0.1:0 >"$work/url" &
	fake_pid=$!
	for _ in $(seq 6000); do [ -s "$work/url" ] && break; sleep 0.1; done
	url=$(head -n1 "$work/url")
	if [ -z "$url" ]; then
		echo "publish.sh: the fake did not start within 10 minutes" >&2
		exit 1
	fi
	rm -rf "$work"/db.duckdb* "$work/lake"
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
    reports: [$reports]
YAML
	"$bin" sync --config "$work/config.yaml" >"$work/out" 2>&1 || {
		cat "$work/out" >&2
		exit 1
	}
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
	fake_pid=
	printf '%d leads (%s): database %d MiB\n' "$n" "$reports" "$(du -m "$work/db.duckdb" | cut -f1)"
	cp "$work/config.yaml" "$work/base.yaml"
	printf 'publish:\n  parquet: %s/lake\n  views: false\n%s' "$work" "${PUBLISH_YAML:-}" >>"$work/config.yaml"
	measure "tables only"
	cp "$work/base.yaml" "$work/config.yaml"
	printf 'publish:\n  parquet: %s/lake\n%s' "$work" "${PUBLISH_YAML:-}" >>"$work/config.yaml"
	measure "views"
done
