#!/usr/bin/env bash
# Builds Nimbus, starts an all-in-one cloud on a fresh state directory, measures
# it through its public API with nimbus-bench, stops it, measures start, idle
# memory and stop on fresh clouds, and prints a markdown table of the medians.
#
#   bench/run.sh [OUTDIR]        results.jsonl, summary.md and context.txt go to
#                                OUTDIR (default bench/results/<UTC time>)
#
# Knobs (defaults in brackets): REPS [3] runs of each measurement; PORT [15000]
# identity port of the benchmarked cloud; ISSUE_N [100] token issues per run and
# concurrency; VALIDATE_N [5000] validations per run and concurrency; BCRYPT_N
# [20] bcrypt checks per run per goroutine; EVENTS [10000] revocation events;
# REVOKE_N [20000] validations per run and concurrency around the revocation
# events (longer than VALIDATE_N: the flatness check needs steady figures); IDLE
# [5] seconds of idle before a memory sample. IMAGE_PORT [PORT+1] image port of
# the benchmarked cloud; IMAGE_SIZES ["64MiB 512MiB 2GiB"] image sizes (empty: no
# image runs), each measured REPS times; HASH_SIZE [512MiB] bytes per hash-bound
# run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
REPS=${REPS:-3}
PORT=${PORT:-15000}
ISSUE_N=${ISSUE_N:-100}
VALIDATE_N=${VALIDATE_N:-5000}
BCRYPT_N=${BCRYPT_N:-20}
EVENTS=${EVENTS:-10000}
REVOKE_N=${REVOKE_N:-20000}
IDLE=${IDLE:-5}
IMAGE_PORT=${IMAGE_PORT:-$((PORT + 1))}
IMAGE_SIZES=${IMAGE_SIZES-64MiB 512MiB 2GiB}
HASH_SIZE=${HASH_SIZE:-512MiB}

export PATH="$(./scripts/ensure-go.sh):$PATH"
go build -o bin/nimbus ./cmd/nimbus
go build -o bin/nimbus-bench ./bench/cmd/nimbus-bench
BENCH=$ROOT/bin/nimbus-bench

OUT=${1:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: >"$RES"
WORK=$(mktemp -d)
PID=
stop_cloud() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		wait "$PID" || true
	fi
	PID=
}
trap 'stop_cloud; rm -rf "$WORK"' EXIT

snapshot() { # the machine may be shared: note what else is running
	echo "== $1 $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
	ps -eo pid,pcpu,rss,etime,comm --sort=-pcpu | head -8
}
run() {
	echo "+ nimbus-bench $*" >&2
	"$BENCH" "$@" | tee -a "$RES"
}

{
	echo "date: $(date -u +%FT%TZ)"
	echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "nimbus: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)'), $(go version)"
	snapshot start
} >"$OUT/context.txt"

# The benchmarked cloud: fresh state, 127.0.0.1 only.
bin/nimbus up --state-dir "$WORK/state" --set DEFAULT.bind_host=127.0.0.1 \
	--set identity.bind_port="$PORT" --set image.bind_port="$IMAGE_PORT" >"$WORK/nimbus.out" 2>"$WORK/nimbus.log" &
PID=$!
for _ in $(seq 300); do
	grep -q "Nimbus is ready" "$WORK/nimbus.out" && break
	if ! kill -0 "$PID" 2>/dev/null; then
		echo "nimbus did not start (is port $PORT free?):" >&2
		tail -5 "$WORK/nimbus.log" >&2
		exit 1
	fi
	sleep 0.1
done
grep -q "Nimbus is ready" "$WORK/nimbus.out" || { echo "nimbus not ready after 30 s" >&2; exit 1; }
# shellcheck disable=SC1091
. "$WORK/state/admin-openrc"
sleep "$IDLE"
run memory -pid "$PID" -label idle

for r in $(seq "$REPS"); do
	echo "### rep $r/$REPS" >&2
	run token-issue -n "$ISSUE_N" -c 1 -pid "$PID"
	run token-issue -n "$ISSUE_N" -c 8 -pid "$PID"
	run bcrypt-bound -c 1 -n "$BCRYPT_N"
	run bcrypt-bound -c 2 -n $((BCRYPT_N * 2))
	run token-validate -n "$VALIDATE_N" -c 1 -pid "$PID"
	run token-validate -n "$VALIDATE_N" -c 8 -pid "$PID"
	run revocations -events 0 -n "$REVOKE_N" -pid "$PID"
	snapshot "after rep $r" >>"$OUT/context.txt"
done
# Events stay until their tokens would have expired, so the first run makes
# them all and the others measure again at the same count.
run revocations -events "$EVENTS" -n "$REVOKE_N" -pid "$PID"
for r in $(seq 2 "$REPS"); do
	run revocations -events 0 -existing "$EVENTS" -n "$REVOKE_N" -pid "$PID"
done
run memory -pid "$PID" -label after-load
# Images: create, upload, wait for active, download, delete; then the md5 +
# sha512 rate of this machine, the ceiling of upload; then the disk.
for size in $IMAGE_SIZES; do
	run image -size "$size" -n "$REPS" -pid "$PID"
done
if [ -n "$IMAGE_SIZES" ]; then
	run hash-bound -size "$HASH_SIZE" -n "$REPS"
	for _ in $(seq "$REPS"); do # uploads fsync: the disk's rate, for context
		dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=2048 conv=fsync 2>&1 | tail -1
		rm -f "$WORK/dd.bin"
	done >>"$OUT/context.txt"
	snapshot "after images" >>"$OUT/context.txt"
fi
stop_cloud

for r in $(seq "$REPS"); do
	run startup -bin bin/nimbus -idle "${IDLE}s"
done
snapshot end >>"$OUT/context.txt"

"$BENCH" report "$RES" | tee "$OUT/summary.md"
echo "results: $OUT" >&2
