"""The numpy / scipy side of scripts/bench-spectral.sh, and its report.

  python bench-spectral.py rfft LOG2_MIN LOG2_MAX   numpy.fft.rfft timings
  python bench-spectral.py welch LOG2_LEN NPERSEG   scipy.signal.welch timing
  python bench-spectral.py report RUST.jsonl PYTHON.jsonl

Each measurement prints one JSON object, like the Rust side (the
`bench_spectral` example of the spectral crate); `report` joins the two and prints
the ratios. Peak memory is ru_maxrss (VmHWM) of this process so far.
"""

import json
import resource
import statistics
import sys
import time

import numpy as np


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_rfft(log2_min, log2_max):
    for log2 in range(log2_min, log2_max + 1):
        x = np.random.default_rng(log2).standard_normal(1 << log2)
        started = time.perf_counter()
        np.fft.rfft(x)  # numpy (pocketfft) caches its plan on first use
        first_ms = (time.perf_counter() - started) * 1e3
        repeats = min(max((1 << 26) >> log2, 5), 50)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            np.fft.rfft(x)
            times.append(time.perf_counter() - started)
        print(json.dumps({"case": "rfft", "log2": log2, "first_ms": round(first_ms, 3),
                          "median_ms": round(statistics.median(times) * 1e3, 4),
                          "repeats": repeats, "peak_rss_mib": round(peak_rss_mib(), 1)}),
              flush=True)


def bench_welch(log2_len, nperseg):
    from scipy import signal

    x = np.random.default_rng(7).standard_normal(1 << log2_len)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        signal.welch(x, nperseg=nperseg)
        times.append(time.perf_counter() - started)
    print(json.dumps({"case": "welch", "log2": log2_len, "nperseg": nperseg,
                      "median_ms": round(statistics.median(times) * 1e3, 2),
                      "peak_rss_mib": round(peak_rss_mib(), 1)}), flush=True)


def load(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.startswith("{")]


def report(rust_path, python_path):
    rust, python = load(rust_path), load(python_path)

    def find(rows, **keys):
        return next((r for r in rows if all(r.get(k) == v for k, v in keys.items())), None)

    print("\nrfft, plans warmed, single thread (median ms; peak RSS so far in MiB)")
    print(f"{'n':>6} {'rust ms':>10} {'numpy ms':>10} {'speed-up':>9} {'rust plan ms':>13} "
          f"{'numpy 1st ms':>13} {'rust MiB':>9} {'numpy MiB':>10}")
    ratios = []
    for row in (r for r in rust if r["case"] == "rfft"):
        other = find(python, case="rfft", log2=row["log2"])
        if other is None:
            continue
        ratio = other["median_ms"] / row["median_ms"]
        ratios.append(ratio)
        print(f"  2^{row['log2']:<3} {row['median_ms']:>10.3f} {other['median_ms']:>10.3f} "
              f"{ratio:>8.2f}x {row['plan_ms']:>13.2f} {other['first_ms']:>13.2f} "
              f"{row['peak_rss_mib']:>9.1f} {other['peak_rss_mib']:>10.1f}")
    if ratios:
        print(f"  median speed-up {statistics.median(ratios):.2f}x, smallest {min(ratios):.2f}x "
              "(targets: 2x median, 1.5x each)")

    print("\nwelch (median of 3 runs, ms; peak RSS in MiB)")
    for row in (r for r in rust if r["case"] == "welch"):
        other = find(python, case="welch", log2=row["log2"], nperseg=row["nperseg"])
        if other is None:
            continue
        ratio = other["median_ms"] / row["median_ms"]
        print(f"  2^{row['log2']} samples, nperseg {row['nperseg']:>5}: rust {row['median_ms']:>9.1f}  "
              f"scipy {other['median_ms']:>9.1f}  speed-up {ratio:6.2f}x  "
              f"(rust {row['peak_rss_mib']:.0f} MiB, scipy {other['peak_rss_mib']:.0f} MiB)")

    reads = {r["bytes"]: r for r in rust if r["case"] == "read-file"}
    for row in (r for r in rust if r["case"] == "out-of-core"):
        read = reads.get(row["len"] * 8)
        read_text = f", reading the file once took {read['seconds']:.1f} s" if read else ""
        print(f"\nout-of-core rfft of 2^{row['len'].bit_length() - 1} samples, budget {row['budget']}: "
              f"{row['seconds']:.1f} s{read_text}; peak anonymous memory {row['peak_anon_mib']:.0f} MiB, "
              f"VmHWM {row['peak_rss_mib']:.0f} MiB (out of core: {row['out_of_core']})")


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "rfft":
        bench_rfft(int(sys.argv[2]), int(sys.argv[3]))
    elif command == "welch":
        bench_welch(int(sys.argv[2]), int(sys.argv[3]))
    elif command == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
