#!/usr/bin/env bash
# Plotting benchmark (printed figures, not a test). Release build.
#
# 1. A 1e7-point line plot to a 1000×400 PNG: our `plot` (M4 decimation,
#    plotters, PNG encoding; median of 5) against matplotlib's Agg backend
#    (`plot` + `savefig` to memory at the same size; median of 3), side by
#    side; prints both times and the ratio (target: at least 20 times).
# 2. A 1e9-sample synthetic lazy signal (computed on read, no file) plotted
#    by streaming; prints the time, the time of a bare pass reading the same
#    source (the plot's own cost is the difference), and the peak resident
#    memory of that process, VmHWM (target: under 64 MiB).
#
# Usage: bash scripts/bench-plotting.sh [points] [stream_samples]
# Needs the .venv of scripts/python-env.sh (numpy, matplotlib).
set -euo pipefail
cd "$(dirname "$0")/.."

points="${1:-1e7}"
stream_samples="${2:-1e9}"
python=.venv/bin/python
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-plotting}"
cargo build --release -q -p plotting --example bench_plotting
bench="$CARGO_TARGET_DIR/release/examples/bench_plotting"

echo "== line plot of $points points, 1000×400 px"
rust_line="$("$bench" line "$points" "$out/rust-line.png" | awk '/rust_line_seconds/ {print $2}')"

mpl_line="$("$python" - "$points" "$out/mpl-line.png" <<'PY'
import io, sys, time
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

n = int(float(sys.argv[1]))
rng = np.random.default_rng(1)
x = np.arange(n) / 48000.0
y = np.sin(np.arange(n) * 2e-4) + 0.3 * (rng.random(n) - 0.5)
times = []
for _ in range(3):
    start = time.perf_counter()
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    ax.plot(x, y, linewidth=1)
    ax.set_title("benchmark")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    times.append(time.perf_counter() - start)
open(sys.argv[2], "wb").write(buffer.getvalue())
print(sorted(times)[1])
PY
)"

printf 'ours (M4 + plotters + png)   %8.3f s\n' "$rust_line"
printf 'matplotlib Agg plot+savefig  %8.3f s\n' "$mpl_line"
awk -v r="$rust_line" -v m="$mpl_line" 'BEGIN { printf "ratio                        %8.1f× faster (target ≥ 20×)\n", m / r }'

echo "== streamed line plot of $stream_samples samples (lazy synthetic source)"
"$bench" stream "$stream_samples" "$out/rust-stream.png" | while read -r key value; do
  case "$key" in
    rust_stream_seconds) printf 'time                         %8.2f s\n' "$value" ;;
    rust_read_seconds) printf 'bare read of the same source %8.2f s\n' "$value" ;;
    rust_stream_vmhwm_kib) awk -v k="$value" 'BEGIN { printf "peak resident memory (VmHWM) %8.1f MiB (target < 64 MiB)\n", k / 1024 }' ;;
    rust_stream_summary) echo "summary                      $value" ;;
  esac
done
