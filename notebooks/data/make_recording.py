"""Builds speaker-positions.wav, the tutorial's stereo recording, from the
nine real voice recordings in ../shared/data/recordings (see SOURCE.md).

Left channel: the nine recordings in alphabetical order. Right channel: the
same recordings in reverse order. Both channels have the same length since
they hold the same recordings. Uses only the standard library, so that the
file can be rebuilt byte for byte on any machine:

    python3 notebooks/data/make_recording.py ../shared/data/recordings
"""

import array
import pathlib
import sys
import wave


def read_mono_pcm16(path):
    with wave.open(str(path), "rb") as source:
        if source.getnchannels() != 1 or source.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected mono 16-bit PCM")
        samples = array.array("h")
        samples.frombytes(source.readframes(source.getnframes()))
        return source.getframerate(), samples


def main():
    recordings = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/recordings")
    paths = sorted(recordings.glob("*.wav"))
    if len(paths) != 9:
        raise SystemExit(f"expected the nine recordings in {recordings}, found {len(paths)}")

    rates_and_samples = [read_mono_pcm16(path) for path in paths]
    rate = rates_and_samples[0][0]
    left = array.array("h")
    right = array.array("h")
    for _, samples in rates_and_samples:
        left.extend(samples)
    for _, samples in reversed(rates_and_samples):
        right.extend(samples)

    interleaved = array.array("h", bytes(4 * len(left)))
    interleaved[0::2] = left
    interleaved[1::2] = right
    if sys.byteorder != "little":
        interleaved.byteswap()

    target = pathlib.Path(__file__).with_name("speaker-positions.wav")
    with wave.open(str(target), "wb") as sink:
        sink.setnchannels(2)
        sink.setsampwidth(2)
        sink.setframerate(rate)
        sink.writeframes(interleaved.tobytes())
    print(f"wrote {target}: {len(left)} frames, 2 channels, {rate} Hz")


if __name__ == "__main__":
    main()
