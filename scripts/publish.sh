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

. scripts/fake.sh
build_binaries
reports=${REPORTS:-leads}

# measure LABEL: closesync publish of $work/db.duckdb into $work/lake.
measure() {
	rm -rf "$work/lake"
	/usr/bin/time -v "$bin" publish --config "$work/config.yaml" >"$work/out" 2>"$work/time" || {
		cat "$work/out" "$work/time" >&2
		exit 1
	}
	time_fields "$work/time"
	size=$(du -sm --dereference-args "$work/lake/.closesync" | cut -f1)
	printf '  %-12s wall %6.1f s  cpu %6.1f s  rss %5.0f MiB  parquet %6d MiB  %s\n' "$1" "$wall_s" "$cpu_s" \
		"$rss_mib" "$size" "$(sed -n 's/^publish *[^ ]*: //p' "$work/out")"
}

for n in "${@:-5000}"; do
	start_fake "$n" publish.sh
	rm -rf "$work"/db.duckdb* "$work/lake"
	bench_config "$reports"
	"$bin" sync --config "$work/config.yaml" >"$work/out" 2>&1 || {
		cat "$work/out" >&2
		exit 1
	}
	stop_fake
	printf '%d leads (%s): database %d MiB\n' "$n" "$reports" "$(du -m "$work/db.duckdb" | cut -f1)"
	cp "$work/config.yaml" "$work/base.yaml"
	printf 'publish:\n  parquet: %s/lake\n  views: false\n%s' "$work" "${PUBLISH_YAML:-}" >>"$work/config.yaml"
	measure "tables only"
	cp "$work/base.yaml" "$work/config.yaml"
	printf 'publish:\n  parquet: %s/lake\n%s' "$work" "${PUBLISH_YAML:-}" >>"$work/config.yaml"
	measure "views"
done
