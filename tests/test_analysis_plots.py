"""plot() in a notebook: every kind of value (a Signal, a spectrum, a PSD,
a spectrogram, x/y pairs, several series), shown inline as a PNG of the
requested size with its size in the metadata and a one-line summary,
with ink where the data is; bad options and values give a clear error
and the kernel goes on."""

from __future__ import annotations

import numpy as np
import pytest

from support.kernel import start, stop
from test_analysis_support import (
    error_of,
    pixels_of_colour,
    reddish_pixels,
    png_of,
    result,
    rhai_array,
    run_ok,
)

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(300)]

TAB_BLUE = (0x1F, 0x77, 0xB4)
TAB_ORANGE = (0xFF, 0x7F, 0x0E)


@pytest.fixture(scope="module")
def kc():
    km, client = start()
    rng = np.random.default_rng(11)
    t = np.arange(4000) / 8000.0
    x = np.sin(2 * np.pi * 440 * t) + 0.1 * rng.normal(size=t.size)
    run_ok(client, f"let x = signal({rhai_array(x)}, 8000.0);")
    yield client
    stop(km, client)


def figure(kc, code: str):
    """The PNG image, its raw bytes, and the result content of ``code``."""
    content = result(run_ok(kc, code))
    image, raw = png_of(content)
    return image, raw, content


def ink_fraction(image, box) -> float:
    """Share of non-white pixels inside ``box`` (left, top, right, bottom)."""
    area = np.asarray(image.crop(box))
    return float(np.any(area != 255, axis=-1).mean())


@pytest.mark.parametrize(
    "value, summary_start",
    [
        ("x", "line plot of 4,000 samples (0.5 s at 8000 Hz)"),
        ("rfft(x)", "spectrum plot of 2,001 bins"),
        ("fft(x)", "spectrum plot of 4,000 bins"),
        ("welch(x, #{nperseg: 512})", "psd plot of 257 bins"),
        ("#{x: [0, 1, 2, 3], y: [1.0, -1.0, 2.0, 0.5]}", "x/y plot of 4 points"),
    ],
)
def test_each_value_plots_at_the_requested_size_with_ink_in_its_colour(kc, value, summary_start):
    image, _, content = figure(kc, f'plot({value}, #{{width: 640, height: 320, color: "#ff0000"}})')
    assert image.size == (640, 320)
    assert content["metadata"]["image/png"] == {"width": 640, "height": 320}
    assert content["data"]["text/plain"].startswith(summary_start), content["data"]["text/plain"]
    assert content["data"]["text/plain"].endswith("640×320 px")
    red = reddish_pixels(image)
    assert red > 100, f"only {red} pixels drawn in the series colour"


def test_default_size_is_1000_by_400(kc):
    image, _, content = figure(kc, "plot(x)")
    assert image.size == (1000, 400)
    assert content["metadata"]["image/png"] == {"width": 1000, "height": 400}


def test_spectrogram_draws_a_heatmap(kc):
    image, _, content = figure(kc, "plot(spectrogram(x, #{nperseg: 256}), #{width: 500, height: 300})")
    assert image.size == (500, 300)
    assert content["data"]["text/plain"].startswith("spectrogram of ")
    colours = np.unique(np.asarray(image).reshape(-1, 3), axis=0)
    assert len(colours) > 50, "a heatmap has many colours"
    assert ink_fraction(image, (100, 50, 350, 250)) > 0.9


def test_several_series_share_axes_in_palette_colours(kc):
    code = (
        "plot([x, #{x: [0.0, 0.25, 0.5], y: [0.0, 1.0, 0.0], label: \"triangle\"}], "
        "#{width: 800, height: 300, title: \"two\"})"
    )
    image, _, content = figure(kc, code)
    assert content["data"]["text/plain"].startswith("line plot of 2 series")
    assert pixels_of_colour(image, TAB_BLUE) > 100
    assert pixels_of_colour(image, TAB_ORANGE) > 20


def test_spectrum_options_log_db_peaks_limits(kc):
    for options in [
        "#{db: true, peaks: 3}",
        "#{log_y: true, log_x: true}",
        "#{xlim: [100, 1000], ylim: [0, 50], title: \"zoom\", xlabel: \"f\", ylabel: \"|X|\"}",
        "#{kind: \"xy\"}",
    ]:
        image, _, _ = figure(kc, f"plot(rfft(x), {options})")
        assert image.size == (1000, 400)
        assert pixels_of_colour(image, TAB_BLUE) > 50, options


def test_figure_has_its_size_and_summary(kc):
    run_ok(kc, "let fig = plot(x, #{width: 300, height: 200});")
    assert result(run_ok(kc, "`${fig.width}x${fig.height}`"))["data"]["text/plain"] == '"300x200"'
    summary = result(run_ok(kc, "fig.summary"))["data"]["text/plain"]
    assert summary.startswith('"line plot of 4,000 samples')


@pytest.mark.parametrize(
    "code, expected",
    [
        ("plot(x, #{width: 10})", "plot: width 10 is not a valid plot width; use 64..=8192"),
        ("plot(x, #{colr: \"red\"})", 'plot: unknown plot option "colr"; known options: kind, title'),
        ("plot(x, #{log_y: 1})", "plot: option log_y wants true or false, got integer 1"),
        ("plot(x, #{xlim: [1, 2, 3]})", "plot: option xlim is an array of 3 items"),
        ("plot(x, #{color: \"blurple\"})", 'color "blurple" is not a colour'),
        ("plot(42)", "plot cannot draw integer 42; give a Signal, a spectrum"),
        ("plot(\"x\")", 'plot cannot draw string "x"'),
        ("plot([])", "plot: the array is empty"),
        ("plot(#{x: [1, 2], y: [1]})", "plot: x has 2 values and y has 1"),
        ("plot(#{x: [1, 2]})", "plot: an x/y map needs both x and y; y is missing"),
        ("plot(spectrogram(x), #{kind: \"line\"})", 'kind "line" cannot draw a spectrogram'),
    ],
)
def test_bad_plots_give_a_clear_error_and_the_kernel_goes_on(kc, code, expected):
    content = error_of(kc, code)
    assert expected in content["evalue"], content["evalue"]
    assert result(run_ok(kc, "x.len"))["data"]["text/plain"] == "4000"
