#!/usr/bin/env bash
# Benchmark of wendelin-server (printed figures, not a timed test).
#
# Builds the server in release mode, starts it on a free loopback port with
# a throw-away data folder, then measures side by side:
#
#   ingestion  1 GiB appended in 1 MiB PUTs with Content-Range (each one
#              fsynced before its 204), against dd writing the same bytes
#              in 1 MiB blocks with oflag=dsync (one sync per block, the
#              same durability);
#   reads      the 1 GiB stream read in 8 MiB ranges over one keep-alive
#              connection by server/examples/bench_client.rs, against curl
#              fetching the same ranges from the same server (one curl
#              process, one connection, --next per range).
#
# Prints throughput, the ratios, and the server's peak resident memory
# (VmHWM from /proc). Targets: reads above 1 GB/s and at least 0.8 of curl;
# ingestion at least 0.5 of dd.
#
# Usage: bash scripts/bench-server.sh [size in MiB, default 1024]
# Needs about 3 times the size free in $TMPDIR (source, server, dd).
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-1024}
append_bytes=$((1 << 20))
range_bytes=$((8 << 20))
total=$((size_mib << 20))
target=${CARGO_TARGET_DIR:-target}

echo "== building (release)" >&2
cargo build --release -p wendelin-server --bin wendelin-server --example bench_client >&2
server_bin="$target/release/wendelin-server"
client_bin="$target/release/examples/bench_client"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== writing ${size_mib} MiB of source data" >&2
head -c "$total" /dev/urandom > "$work/source"

mkfifo "$work/stdout"
RUST_LOG=warn "$server_bin" --listen 127.0.0.1:0 --data-dir "$work/data" > "$work/stdout" &
server_pid=$!
read -r line < "$work/stdout"
port=$(sed -E 's#.*http://127\.0\.0\.1:([0-9]+)/erp5.*#\1#' <<< "$line")
base="http://127.0.0.1:$port/erp5"
echo "$line" >&2

curl -sf -u zope:insecure -X POST "$base/data_stream_module/newContent" -d reference=bench > /dev/null
path=/erp5/data_stream_module/1

rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== ingestion: ${size_mib} MiB in 1 MiB appends" >&2
read -r bytes server_s < <("$client_bin" append "$port" "$path" "$work/source" "$append_bytes")
sync
dd_start=$(date +%s.%N)
dd if="$work/source" of="$work/dd-copy" bs=1M oflag=dsync status=none
dd_end=$(date +%s.%N)
dd_s=$(awk -v a="$dd_start" -v b="$dd_end" 'BEGIN { print b - a }')
rm -f "$work/dd-copy"

served=$(curl -sf -u zope:insecure "$base/data_stream_module/1/getSize")
[ "$served" = "$total" ] || { echo "server holds $served bytes, expected $total" >&2; exit 1; }

echo "== reads: ${size_mib} MiB in 8 MiB ranges" >&2
# warm the page cache for both readers alike
"$client_bin" read "$port" "$path" "$total" "$range_bytes" > /dev/null
read -r read_bytes read_s < <("$client_bin" read "$port" "$path" "$total" "$range_bytes")

config="$work/curl.config"
: > "$config"
start=0
while [ "$start" -lt "$total" ]; do
  end=$((start + range_bytes - 1))
  [ "$end" -ge "$total" ] && end=$((total - 1))
  [ "$start" -gt 0 ] && echo next >> "$config"
  printf 'url = "%s"\nrange = "%d-%d"\noutput = "/dev/null"\nuser = "zope:insecure"\n' \
    "$base/data_stream_module/1" "$start" "$end" >> "$config"
  start=$((end + 1))
done
curl_start=$(date +%s.%N)
curl -sf -K "$config"
curl_end=$(date +%s.%N)
curl_s=$(awk -v a="$curl_start" -v b="$curl_end" 'BEGIN { print b - a }')

peak_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status")

server_in=$(rate "$bytes" "$server_s")
dd_in=$(rate "$total" "$dd_s")
server_out=$(rate "$read_bytes" "$read_s")
curl_out=$(rate "$total" "$curl_s")
echo
echo "ingestion  server ${server_in} MB/s   dd oflag=dsync ${dd_in} MB/s   ratio $(ratio "$server_in" "$dd_in") (target >= 0.5)"
echo "reads      server ${server_out} MB/s   curl ${curl_out} MB/s   ratio $(ratio "$server_out" "$curl_out") (target >= 0.8, and > 1000 MB/s)"
echo "server peak memory (VmHWM) $((peak_kib / 1024)) MiB"
