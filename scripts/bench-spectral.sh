#!/usr/bin/env bash
# Benchmarks the spectral crate against numpy and scipy, side by side in
# one run, single thread, and prints ratios and peak memory (figures, not
# a timed test):
#
#   - rfft against numpy.fft.rfft from 2^16 to 2^24 points, plans warmed,
#     planning time reported apart;
#   - welch against scipy.signal.welch on 2^26 samples, nperseg 4096 and
#     256;
#   - out-of-core rfft of 2^26 samples from a file under a 64 MiB budget
#     (a quick check that the four-step path runs), beside the time to read
#     the file once;
#   - with --out-of-core: the same for 2^30 samples (an 8 GiB file) under a
#     1 GiB budget. It needs about 32 GiB of disk (input plus scratch) and
#     takes minutes, so it is opt-in.
#
# Usage: bash scripts/bench-spectral.sh [--out-of-core] [--scratch DIR]
# Scratch and input files go to DIR (default: $TMPDIR or /tmp) and are
# removed at the end. Builds with `cargo build --release` into
# $CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."

big=false
scratch="${TMPDIR:-/tmp}"
while [ $# -gt 0 ]; do
  case "$1" in
    --out-of-core) big=true ;;
    --scratch) scratch="$2"; shift ;;
    *) echo "usage: $0 [--out-of-core] [--scratch DIR]" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/python-env.sh
python=.venv/bin/python
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p spectral --example bench_spectral
bench="$target/release/examples/bench_spectral"

# one core, one thread each, so neither side gets a second core
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

work=$(mktemp -d "$scratch/bench-spectral.XXXXXX")
trap 'rm -rf "$work"' EXIT
rust="$work/rust.jsonl"
numpy="$work/python.jsonl"

echo "== rfft 2^16 .. 2^24" >&2
"${pin[@]}" "$bench" rfft 16 24 | tee -a "$rust" >&2
"${pin[@]}" "$python" scripts/bench-spectral.py rfft 16 24 | tee -a "$numpy" >&2

echo "== welch, 2^26 samples" >&2
for nperseg in 4096 256; do
  "${pin[@]}" "$bench" welch 26 "$nperseg" | tee -a "$rust" >&2
  "${pin[@]}" "$python" scripts/bench-spectral.py welch 26 "$nperseg" | tee -a "$numpy" >&2
done

out_of_core() { # log2 budget
  local file="$work/input-$1.f64"
  echo "== out-of-core rfft, 2^$1 samples, budget $2" >&2
  "$bench" make-file "$file" "$1"
  "${pin[@]}" "$bench" read-file "$file" | tee -a "$rust" >&2
  "${pin[@]}" "$bench" out-of-core "$file" "$2" "$work" | tee -a "$rust" >&2
  rm -f "$file"
}
out_of_core 26 64MiB
if $big; then out_of_core 30 1GiB; fi

"$python" scripts/bench-spectral.py report "$rust" "$numpy"
