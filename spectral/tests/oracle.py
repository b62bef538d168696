"""The numpy / scipy oracle of the spectral crate's integration tests.

Usage: python oracle.py INPUT CASES OUTDIR. INPUT holds little-endian
float64 samples (complex cases read them as interleaved re, im pairs).
Each line i of CASES is one case; its expected values go to
OUTDIR/out-i.f64 as float64:

  rfft N|none                  -> rfft(x, n) as interleaved re, im
  fft N|none                   -> fft(z, n) of the complex input
  welch FS NPERSEG NOVERLAP|none WINDOW DETREND SCALING AVERAGE
                               -> frequencies, then Pxx
  spectrogram FS NPERSEG NOVERLAP|none WINDOW DETREND SCALING
                               -> frequencies, times, then Sxx (freq-major)
  cwelch FS NPERSEG NOVERLAP|none WINDOW DETREND SCALING AVERAGE
                               -> as welch, of the complex input (two-sided)

WINDOW is hann, hamming, blackman, boxcar or tukey:ALPHA; DETREND is
constant, linear or none. A case may start with @LEN to use only the
first LEN samples.
"""

import sys

import numpy as np
from scipy import signal


def window_of(text):
    if text.startswith("tukey:"):
        return ("tukey", float(text.split(":")[1]))
    return text


def optional_int(text):
    return None if text == "none" else int(text)


def run(case, x):
    words = case.split()
    if words[0].startswith("@"):
        x = x[: int(words[0][1:])]
        words = words[1:]
    kind = words[0]
    if kind == "rfft":
        out = np.fft.rfft(x, n=optional_int(words[1]))
        return out.view(np.float64)
    if kind == "fft":
        z = x.view(np.complex128)
        out = np.fft.fft(z, n=optional_int(words[1]))
        return out.view(np.float64)
    fs, nperseg, noverlap = float(words[1]), int(words[2]), optional_int(words[3])
    window = window_of(words[4])
    detrend = False if words[5] == "none" else words[5]
    scaling = words[6]
    if kind == "cwelch":
        z = x.view(np.complex128)
        f, p = signal.welch(z, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap,
                            detrend=detrend, scaling=scaling, average=words[7])
        return np.concatenate([f, p])
    if kind == "welch":
        f, p = signal.welch(x, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap,
                            detrend=detrend, scaling=scaling, average=words[7])
        return np.concatenate([f, p])
    if kind == "spectrogram":
        f, t, s = signal.spectrogram(x, fs=fs, window=window, nperseg=nperseg,
                                     noverlap=noverlap, detrend=detrend, scaling=scaling)
        return np.concatenate([f, t, s.ravel()])
    raise SystemExit(f"unknown case {case!r}")


def main():
    source, cases, outdir = sys.argv[1:4]
    x = np.fromfile(source, dtype="<f8")
    with open(cases) as lines:
        for index, case in enumerate(line.strip() for line in lines):
            if case:
                np.asarray(run(case, x), dtype="<f8").tofile(f"{outdir}/out-{index}.f64")


if __name__ == "__main__":
    main()
