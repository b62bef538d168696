"""rfft, fft, welch and spectrogram in a notebook, against numpy and scipy
computed here from the same numbers: results fetched with ``to_array()``,
option maps with scipy's meaning, clear errors for bad options, the
session's memory budget, an out-of-core transform with its progress
display, and an interrupt in the middle of one."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import scipy.signal

from support.kernel import execute, of_type, shell_reply, start, stop
from test_analysis_support import (
    assert_close,
    error_of,
    long_values,
    result,
    rhai_array,
    run_ok,
    values,
)

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(300)]

RATE = 1000.0


@pytest.fixture(scope="module")
def scratch_dir(tmp_path_factory):
    """The kernel's TMPDIR: where its scratch files go."""
    return tmp_path_factory.mktemp("kernel-tmp")


@pytest.fixture(scope="module")
def kernel(scratch_dir):
    env = {**os.environ, "TMPDIR": str(scratch_dir)}
    km, kc = start(env=env)
    yield km, kc
    stop(km, kc)


@pytest.fixture(scope="module")
def samples(kernel):
    """A noisy two-tone signal of 3001 samples (odd, so rfft and welch see
    an odd length too), defined in the kernel as ``x``."""
    _, kc = kernel
    rng = np.random.default_rng(20261204)
    t = np.arange(3001) / RATE
    x = np.sin(2 * np.pi * 50 * t) + 0.5 * np.cos(2 * np.pi * 120.5 * t) + rng.normal(0, 0.3, t.size)
    run_ok(kc, f"let x = signal({rhai_array(x)}, {RATE});")
    return x


# rfft and fft


@pytest.mark.parametrize("n", [None, 4096, 1000, 3001])
def test_rfft_matches_numpy(kernel, samples, n):
    _, kc = kernel
    options = "" if n is None else f", #{{n: {n}}}"
    run_ok(kc, f"let s = rfft(x{options});")
    want = np.fft.rfft(samples, n=n)
    length = n or samples.size

    assert_close(values(kc, "s.real()"), want.real)
    assert_close(values(kc, "s.imag()"), want.imag)
    assert_close(values(kc, "s.magnitude()"), np.abs(want))
    assert_close(values(kc, "s.power()"), np.abs(want) ** 2)
    assert_close(values(kc, "s.frequencies()"), np.fft.rfftfreq(length, 1 / RATE))
    assert result(run_ok(kc, "s.len"))["data"]["text/plain"] == str(want.size)
    resolution = float(result(run_ok(kc, "s.resolution"))["data"]["text/plain"])
    assert resolution == pytest.approx(RATE / length, rel=1e-15)


def test_fft_matches_numpy_in_its_order(kernel, samples):
    _, kc = kernel
    run_ok(kc, "let f = fft(x);")
    want = np.fft.fft(samples)
    assert_close(values(kc, "f.real()"), want.real)
    assert_close(values(kc, "f.imag()"), want.imag)
    assert_close(values(kc, "f.frequencies()"), np.fft.fftfreq(samples.size, 1 / RATE))
    phase = values(kc, "f.phase()")
    strong = np.abs(want) > 1e-6 * np.abs(want).max()
    assert_close(phase[strong], np.angle(want)[strong])


def test_peaks_are_the_largest_local_maxima(kernel, samples):
    _, kc = kernel
    run_ok(kc, "let s = rfft(x);")
    magnitude = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(samples.size, 1 / RATE)
    peak = float(result(run_ok(kc, "s.peak_frequency()"))["data"]["text/plain"])
    assert peak == pytest.approx(frequencies[1 + np.argmax(magnitude[1:])], rel=1e-15)

    inner = magnitude[1:-1]
    maxima = np.where((inner > magnitude[:-2]) & (inner >= magnitude[2:]))[0] + 1
    best = maxima[np.argsort(-magnitude[maxima], kind="stable")][:3]
    peaks = result(run_ok(kc, "s.peaks(3)"))["data"]["application/json"]
    assert [p["bin"] for p in peaks] == list(best)
    assert_close(np.array([p["magnitude"] for p in peaks]), magnitude[best])


def test_spectrum_displays_a_summary_with_length_resolution_and_peak(kernel, samples):
    _, kc = kernel
    data = result(run_ok(kc, "rfft(x)"))["data"]
    text = data["text/plain"]
    assert text.startswith("rfft spectrum of 3001 samples: 1501 bins")
    resolution = RATE / samples.size
    assert f"resolution {resolution:.6g}"[:18] in text
    magnitude = np.abs(np.fft.rfft(samples))
    peak = np.fft.rfftfreq(samples.size, 1 / RATE)[1 + np.argmax(magnitude[1:])]
    assert f"peak {peak:.6g} Hz" in text
    assert "<table>" in data["text/html"]


# welch and spectrogram

WELCH_CASES = [
    ("", {}),
    (
        "#{nperseg: 512, noverlap: 100, window: \"hamming\", detrend: \"linear\", scaling: \"spectrum\"}",
        dict(nperseg=512, noverlap=100, window="hamming", detrend="linear", scaling="spectrum"),
    ),
    ("#{nperseg: 300, average: \"median\"}", dict(nperseg=300, average="median")),
    ("#{nperseg: 256, nfft: 600, window: [\"tukey\", 0.3]}", dict(nperseg=256, nfft=600, window=("tukey", 0.3))),
    ("#{window: \"blackman\", detrend: false}", dict(window="blackman", detrend=False)),
]


@pytest.mark.parametrize("options, scipy_options", WELCH_CASES, ids=lambda v: str(v)[:40])
def test_welch_matches_scipy(kernel, samples, options, scipy_options):
    _, kc = kernel
    run_ok(kc, f"let p = welch(x{', ' + options if options else ''});")
    frequencies, want = scipy.signal.welch(samples, fs=RATE, **scipy_options)
    assert_close(values(kc, "p.values()"), want)
    assert_close(values(kc, "p.frequencies()"), frequencies)
    peak = float(result(run_ok(kc, "p.peak_frequency()"))["data"]["text/plain"])
    assert peak == frequencies[1 + np.argmax(want[1:])]


SPECTROGRAM_CASES = [
    ("", {}),
    (
        "#{nperseg: 128, noverlap: 64, window: \"hann\", scaling: \"spectrum\", detrend: \"none\"}",
        dict(nperseg=128, noverlap=64, window="hann", scaling="spectrum", detrend=False),
    ),
    ("#{nperseg: 200, nfft: 256, detrend: \"linear\"}", dict(nperseg=200, nfft=256, detrend="linear")),
]


@pytest.mark.parametrize("options, scipy_options", SPECTROGRAM_CASES, ids=lambda v: str(v)[:40])
def test_spectrogram_matches_scipy(kernel, samples, options, scipy_options):
    _, kc = kernel
    run_ok(kc, f"let g = spectrogram(x{', ' + options if options else ''});")
    frequencies, times, want = scipy.signal.spectrogram(samples, fs=RATE, **scipy_options)
    frames = int(result(run_ok(kc, "g.frames"))["data"]["text/plain"])
    bins = int(result(run_ok(kc, "g.bins"))["data"]["text/plain"])
    assert (bins, frames) == want.shape

    flat = values(kc, "g.values()")
    assert_close(flat.reshape(frames, bins).T, want)
    assert_close(values(kc, "g.frequencies()"), frequencies)
    assert_close(values(kc, "g.times()"), times)
    assert_close(values(kc, "g.frame(1)"), want[:, 1])


def test_psd_and_spectrogram_display_summaries(kernel, samples):
    _, kc = kernel
    text = result(run_ok(kc, "welch(x, #{nperseg: 500})"))["data"]["text/plain"]
    assert text.startswith("welch psd (mean of 11 segments of 500, hann, noverlap 250): 251 bins")
    assert "resolution 2 Hz" in text and "peak 50 Hz" in text
    text = result(run_ok(kc, "spectrogram(x)"))["data"]["text/plain"]
    frequencies, times, _ = scipy.signal.spectrogram(samples, fs=RATE)
    assert text.startswith(f"spectrogram: {frequencies.size} frequencies × {times.size} frames")


# errors


@pytest.mark.parametrize(
    "code, expected",
    [
        ("welch(x, #{npreseg: 256})", 'welch: unknown option "npreseg" (did you mean nperseg?); known options: nperseg'),
        ("welch(x, #{nperseg: \"big\"})", 'welch: option nperseg is string "big"; use an integer >= 1'),
        ("welch(x, #{nperseg: 256, noverlap: 256})", "noverlap 256 is not less than nperseg 256; use noverlap <= 255"),
        ("welch(x, #{window: \"triangle\"})", 'window "triangle" is not valid; use one of hann, hamming'),
        ("welch(x, #{average: \"mode\"})", 'average "mode" is not valid; use mean or median'),
        ("welch(x, #{scaling: 3})", 'welch: option scaling is integer 3; use "density" or "spectrum"'),
        ("rfft(x, #{memory: \"1KiB\"})", "rfft: an fft of length 3001 does not fit the memory budget of 1 KiB"),
        ("spectrogram(x, #{nperseg: 5000})", "nperseg 5000 is longer than the signal (3001 samples); use nperseg <= 3001"),
        ("spectrogram(x, #{average: \"mean\"})", 'spectrogram: unknown option "average"'),
        ("rfft(x, #{n: 0})", "rfft: option n is integer 0; use an integer >= 1"),
        ("rfft(x, #{memory: \"lots\"})", 'rfft: option memory is string "lots"; use a size such as "512MiB"'),
        ("set_memory_budget(-3)", "set_memory_budget: integer -3 is not a budget"),
    ],
)
def test_bad_options_give_a_clear_error_and_the_kernel_goes_on(kernel, samples, code, expected):
    _, kc = kernel
    content = error_of(kc, code)
    assert expected in content["evalue"], content["evalue"]
    assert result(run_ok(kc, "x.len"))["data"]["text/plain"] == str(samples.size)


# the memory budget, out of core, progress, interrupt


def test_out_of_core_rfft_under_a_small_budget_matches_numpy_with_progress(kernel, scratch_dir):
    _, kc = kernel
    rng = np.random.default_rng(7)
    y = rng.normal(0, 1, 1 << 15)
    run_ok(kc, f"let y = signal({rhai_array(y)}, 8000.0);")
    messages = run_ok(kc, 'set_memory_budget("64KiB");\nlet big = rfft(y);\nbig.out_of_core')
    try:
        assert result(messages)["data"]["text/plain"] == "true"
        assert "memory budget 64 KiB" in "".join(
            m["content"]["text"] for m in of_type(messages, "stream")
        )
        shown = of_type(messages, "display_data")
        updates = of_type(messages, "update_display_data")
        assert shown and updates, [m["msg_type"] for m in messages]
        last = updates[-1]["content"]
        assert last["transient"]["display_id"] == shown[0]["content"]["transient"]["display_id"]
        summary = last["data"]["text/plain"]
        assert summary.startswith("rfft of from an array: 32,768 samples to 16,385 bins, out of core")

        want = np.fft.rfft(y)
        assert_close(long_values(kc, "big.real()", want.size), want.real)
        assert_close(long_values(kc, "big.imag()", want.size), want.imag)
        assert list(scratch_dir.glob("spectral-*")), "the out-of-core result lives in a scratch file"
    finally:
        run_ok(kc, 'big = (); set_memory_budget("1GiB");')
    assert not list(scratch_dir.glob("spectral-*"))


def test_interrupt_stops_an_out_of_core_rfft_and_cleans_its_scratch(tmp_path):
    scratch_dir = tmp_path
    env = {**os.environ, "TMPDIR": str(scratch_dir)}
    km, kc = start(env=env)
    try:
        run_ok(kc, "let kept = signal([1.0, 2.0, 3.0], 10.0); let n = 42;")
        msg_id = kc.execute('rfft(kept, #{n: 1 << 24, memory: "1MiB"})')
        deadline = time.monotonic() + 60
        while not list(scratch_dir.glob("spectral-*")):
            assert time.monotonic() < deadline, "the transform never made a scratch file"
            time.sleep(0.02)
        time.sleep(0.5)  # well inside the column pass (about 25 s in all)
        interrupted_at = time.monotonic()
        km.interrupt_kernel()
        reply = shell_reply(kc, msg_id, timeout=30)
        stopped_after = time.monotonic() - interrupted_at
        print(f"interrupt answered after {stopped_after:.3f} s")

        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "Interrupted"
        assert not list(scratch_dir.glob("spectral-*"))
        reply, messages = execute(kc, "`${n} ${kept.len} ${kept.sample_rate}`")
        assert result(messages)["data"]["text/plain"] == '"42 3 10.0"'
    finally:
        stop(km, kc)
