"""Benchmark: start to kernel_info_reply, and the round trip of a trivial
cell, for wendelin-kernel (release build) against ipykernel, through the
same jupyter_client harness in one run, kernels alternated.

Run with .venv/bin/python scripts/bench-kernel.py [--starts N] [--cells N].
Prints medians, 95th percentiles, the ratios and the kernel's resident
memory. Figures, not a timed test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import KernelManager

REPO = Path(__file__).resolve().parents[1]


def release_binary() -> Path:
    """Builds (if needed) and returns the release wendelin-kernel."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    subprocess.run(
        ["cargo", "build", "--release", "-p", "wendelin-kernel"], cwd=REPO, check=True
    )
    return (target / "release" / "wendelin-kernel").resolve()


def install(binary: Path, prefix: Path) -> None:
    subprocess.run([str(binary), "install", "--prefix", str(prefix)], check=True, capture_output=True)
    data = prefix / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in [str(data), os.environ.get("JUPYTER_PATH")] if p
    )


def time_start(name: str) -> float:
    """Seconds from start_kernel to the first kernel_info_reply."""
    km = KernelManager(kernel_name=name)
    started = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    msg_id = kc.kernel_info()
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.perf_counter() - started
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return elapsed


def round_trips(name: str, cells: int) -> tuple[list[float], int]:
    """Seconds from sending a trivial cell to its idle, and the kernel's
    resident memory in KiB afterwards."""
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    times = []
    for i in range(cells + 10):
        started = time.perf_counter()
        msg_id = kc.execute("1")
        while True:
            try:
                message = kc.get_iopub_msg(timeout=30)
            except queue.Empty:
                raise SystemExit(f"{name}: no idle for a trivial cell")
            if (
                message["parent_header"].get("msg_id") == msg_id
                and message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"
            ):
                break
        elapsed = time.perf_counter() - started
        kc.get_shell_msg(timeout=30)
        if i >= 10:  # warm-up
            times.append(elapsed)
    rss = resident_kib(km.provisioner.process.pid)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return times, rss


def interrupt_latency(code: str, repeats: int = 5) -> list[float]:
    """Seconds from interrupt_request to the interrupted cell's reply."""
    km = KernelManager(kernel_name="wendelin")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    latencies = []
    for _ in range(repeats):
        msg_id = kc.execute(code)
        time.sleep(0.3)
        started = time.perf_counter()
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        latencies.append(time.perf_counter() - started)
        assert reply["content"].get("ename") == "Interrupted", reply["content"]
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return latencies


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--cells", type=int, default=200)
    args = parser.parse_args()

    binary = release_binary()
    prefix = Path(tempfile.mkdtemp(prefix="bench-kernel-"))
    install(binary, prefix)
    kernels = ["wendelin", "python3"]

    starts: dict[str, list[float]] = {k: [] for k in kernels}
    for _ in range(args.starts):
        for name in kernels:
            starts[name].append(time_start(name))
    trips = {}
    memory = {}
    for name in kernels:
        trips[name], memory[name] = round_trips(name, args.cells)

    print(f"{'kernel':<10} {'start median':>13} {'start p95':>10} {'cell median':>12} {'cell p95':>9} {'RSS':>9}")
    for name in kernels:
        print(
            f"{name:<10} {statistics.median(starts[name]) * 1e3:>10.1f} ms {p95(starts[name]) * 1e3:>7.1f} ms"
            f" {statistics.median(trips[name]) * 1e3:>9.2f} ms {p95(trips[name]) * 1e3:>6.2f} ms"
            f" {memory[name] / 1024:>6.1f} MiB"
        )
    start_ratio = statistics.median(starts["python3"]) / statistics.median(starts["wendelin"])
    trip_ratio = statistics.median(trips["python3"]) / statistics.median(trips["wendelin"])
    print(f"start-up: wendelin is {start_ratio:.2f}x faster than ipykernel (target >= 2)")
    print(f"round trip: wendelin is {trip_ratio:.2f}x faster than ipykernel (target >= 4)")
    print(f"wendelin-kernel resident memory: {memory['wendelin'] / 1024:.1f} MiB")
    for label, code, target in [("script loop", "loop { }", 100), ("native work", "busy_native(600000)", 500)]:
        latencies = interrupt_latency(code)
        print(
            f"interrupt of {label}: median {statistics.median(latencies) * 1e3:.1f} ms,"
            f" max {max(latencies) * 1e3:.1f} ms (target < {target} ms)"
        )


if __name__ == "__main__":
    sys.exit(main())
