#!/usr/bin/env bash
# Side-by-side figures for bigfile-reader (printed, never asserted):
#  1. BigFileReader reading a 1 GiB Data Stream sequentially over loopback
#     against curl fetching the same bytes from the same wendelin-server;
#  2. a WAV channel(0) rms over a 1 GiB 16-bit stereo file against numpy
#     on the same file read from disk.
# Targets (ARCHITECTURE.md): reader >= 0.8 of curl and > 1 GB/s; memory flat.
# The WAV is also read over HTTP from the server, for comparison.
# Needs ~4 GiB of free disk in $TMPDIR. SIZE_MIB overrides the 1024 MiB size.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${SIZE_MIB:-1024}
target=${CARGO_TARGET_DIR:-target}
python=${WENDELIN_PYTHON:-.venv/bin/python}
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building (release)" >&2
cargo build --release -q -p wendelin-server
cargo build --release -q -p bigfile-reader --example bench_reader

echo "== making ${size_mib} MiB of data" >&2
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/stream.bin"
"$python" - "$work/audio.wav" "$size_mib" <<'PY'
import sys, struct, numpy as np
path, mib = sys.argv[1], int(sys.argv[2])
data_bytes = mib * 1024 * 1024
frames = data_bytes // 4
with open(path, "wb") as out:
    out.write(b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE")
    out.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 4, 4, 16))
    out.write(b"data" + struct.pack("<I", data_bytes))
    rng = np.random.default_rng(7)
    step = 1 << 22
    for start in range(0, frames, step):
        count = min(step, frames - start)
        out.write(rng.integers(-32768, 32768, size=2 * count, dtype=np.int16).astype("<i2").tobytes())
PY

echo "== starting wendelin-server" >&2
"$target/release/wendelin-server" --listen 127.0.0.1:0 --data-dir "$work/server" > "$work/server.out" 2>/dev/null &
server_pid=$!
for _ in $(seq 50); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/server.out") || { echo "wendelin-server did not start" >&2; exit 1; }
auth=(-u zope:insecure)
curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d '{"reference": "bench"}' "$url/data_stream_module/newContent" > /dev/null
last=$((size_mib * 1024 * 1024 - 1))
curl -sf "${auth[@]}" -H "Content-Range: bytes 0-$last/$((last + 1))" -H "Content-Type: application/octet-stream" -T "$work/stream.bin" "$url/data_stream_module/1" > /dev/null

curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d '{"reference": "bench-wav"}' "$url/data_stream_module/newContent" > /dev/null
wav_last=$(($(stat -c %s "$work/audio.wav") - 1))
curl -sf "${auth[@]}" -H "Content-Range: bytes 0-$wav_last/$((wav_last + 1))" -H "Content-Type: application/octet-stream" -T "$work/audio.wav" "$url/data_stream_module/2" > /dev/null

echo "== 1. sequential read of a ${size_mib} MiB Data Stream over loopback" >&2
for run in 1 2 3; do
  curl -s "${auth[@]}" -o /dev/null -w "curl ?format=raw: %{size_download} bytes in %{time_total} s = %{speed_download} B/s\n" "$url/data_stream_module/1?format=raw"
  WENDELIN_USER=zope WENDELIN_PASSWORD=insecure "$target/release/examples/bench_reader" stream "$url" data_stream_module/1
done

echo "== 2. channel(0) rms of a ${size_mib} MiB 16-bit stereo WAV from disk" >&2
for run in 1 2 3; do
  "$target/release/examples/bench_reader" wav "$work/audio.wav"
  WENDELIN_USER=zope WENDELIN_PASSWORD=insecure "$target/release/examples/bench_reader" wav-stream "$url" data_stream_module/2
  "$python" - "$work/audio.wav" <<'PY'
import sys, time, resource, numpy as np
start = time.perf_counter()
data = np.fromfile(sys.argv[1], dtype="<i2", offset=44).reshape(-1, 2)
left = data[:, 0].astype(np.float64) / 32768.0
rms = float(np.sqrt(np.mean(left * left)))
seconds = time.perf_counter() - start
size = 44 + data.nbytes
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(f"numpy channel 0 rms: {size} bytes in {seconds:.3f} s = {size / seconds / 1e9:.2f} GB/s, peak RSS {peak} MiB (rms {rms:.12f})")
PY
done
