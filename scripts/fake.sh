# fake.sh: what rss.sh and publish.sh share, sourced after they set $work
# (a temporary directory) and fake_pid= (their EXIT trap kills it).
#
#   build_binaries        $bin: $CLOSESYNC or a build of ./cmd/closesync; and $work/closefake
#   start_fake N NAME     the fake Close at scale N in its own process; $url is its API root
#   stop_fake             stops it
#   bench_config REPORTS  $work/config.yaml: one account on $url, one job of REPORTS, into $work/db.duckdb
#   time_fields FILE      reads /usr/bin/time -v's FILE into $rss_mib, $wall_s and $cpu_s

build_binaries() {
	bin=${CLOSESYNC:-}
	if [ -z "$bin" ]; then
		bin=$work/closesync
		go build -o "$bin" ./cmd/closesync
	fi
	go build -o "$work/closefake" ./internal/closefake/cmd/closefake
}

start_fake() {
	# The previous size's address must not be taken for this one's.
	rm -f "$work/url"
	"$work/closefake" --scale "$1" --addr 127.0.0.1:0 >"$work/url" &
	fake_pid=$!
	# Generating 100,000 leads takes the fake a minute or more on a busy machine.
	for _ in $(seq 6000); do [ -s "$work/url" ] && break; sleep 0.1; done
	url=$(head -n1 "$work/url")
	if [ -z "$url" ]; then
		echo "$2: the fake did not start within 10 minutes" >&2
		exit 1
	fi
}

stop_fake() {
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
	fake_pid=
}

bench_config() {
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
    reports: [$1]
YAML
}

time_fields() {
	rss_mib=$(awk -F': ' '/Maximum resident set size/ {print $2 / 1024}' "$1")
	wall_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" | awk -F: '{s=0; for (i=1; i<=NF; i++) s=s*60+$i; print s}')
	cpu_s=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$1")
}
