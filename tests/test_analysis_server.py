"""Analysis results and figures saved to the real server and read back
over HTTP, independently of the kernel: a WAV channel's spectrum as a
``<c16`` Data Array (in memory and out of core) compared with numpy's
rfft of scipy's reading of the same file, Welch and spectrogram arrays
compared with scipy, a figure saved as an Image that comes back byte for
byte, an Image shown inline from the server's bytes, and a Data Array
written over HTTP plotted again from the server."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from scipy.io import wavfile

from support.kernel import execute, of_type, start, stop
from support.server import PASSWORD, USER, wendelin_server  # noqa: F401
from test_analysis_support import assert_close, png_of, reddish_pixels, result, rhai_array, run_ok

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(300)]

SPEAKERS = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "speaker-positions.wav"


@pytest.fixture(scope="module")
def left():
    """Channel 0 of the recording as the kernel reads it: int16 / 32768."""
    rate, samples = wavfile.read(SPEAKERS)
    return rate, samples[:, 0].astype(np.float64) / 32768.0


@pytest.fixture(scope="module")
def kc(wendelin_server):  # noqa: F811
    """A kernel connected to a server holding the recording, with the
    channel as ``left``."""
    wendelin_server.create_stream("speakers", SPEAKERS.read_bytes())
    km, client = start()
    run_ok(client, f"%erp5_url {wendelin_server.url}\n%erp5_user {USER}\n%erp5_password {PASSWORD}")
    run_ok(
        client,
        'let left = BigFileReader(context.data_stream_module.by_reference("speakers")).wav().channel(0);',
    )
    yield client
    stop(km, client)


def saved(kc, code: str) -> dict:
    """Runs a cell ending in a saved document; returns its properties."""
    run_ok(kc, f"let saved__ = {code};")
    url = result(run_ok(kc, "saved__.relative_url"))["data"]["text/plain"].strip('"')
    run_ok(kc, "saved__ = ();")
    return {"relative_url": url}


def properties(server, relative_url: str) -> dict:
    """The property dict of a document, from the server."""
    return server.json("GET", f"{relative_url}/getPropertyDict")


def test_spectrum_saved_as_c16_array_equals_numpy(kc, wendelin_server, left):  # noqa: F811
    rate, x = left
    document = saved(kc, 'context.data_array_module.create(#{reference: "left-spectrum"}, rfft(left))')
    stored = properties(wendelin_server, document["relative_url"])
    want = np.fft.rfft(x)

    assert stored["dtype"] == "<c16"
    assert stored["frequency_step"] == pytest.approx(rate / x.size, rel=1e-15)
    assert stored["transform_len"] == x.size
    got = np.frombuffer(wendelin_server.raw(document["relative_url"]), dtype="<c16")
    assert_close(got, want)


def test_out_of_core_spectrum_saved_in_chunks_equals_numpy(kc, wendelin_server, left):  # noqa: F811
    _, x = left
    code = 'context.data_array_module.create(#{reference: "ooc"}, rfft(left, #{n: 1 << 19, memory: "1MiB"}))'
    reply, messages = execute(kc, f"let saved__ = {code};", timeout=300)
    assert reply["content"]["status"] == "ok", reply["content"]
    summaries = [m["content"]["data"]["text/plain"] for m in of_type(messages, "update_display_data")]
    assert any("out of core (budget 1 MiB)" in s for s in summaries), summaries
    url = result(run_ok(kc, "saved__.relative_url"))["data"]["text/plain"].strip('"')
    run_ok(kc, "saved__ = ();")

    got = np.frombuffer(wendelin_server.raw(url), dtype="<c16")
    assert_close(got, np.fft.rfft(x, n=1 << 19))


def test_welch_and_spectrogram_saved_as_f8_arrays_equal_scipy(kc, wendelin_server, left):  # noqa: F811
    rate, x = left
    psd = saved(kc, 'context.data_array_module.create(#{reference: "left-psd"}, welch(left, #{nperseg: 4096}))')
    frequencies, want = scipy.signal.welch(x, fs=rate, nperseg=4096)
    stored = properties(wendelin_server, psd["relative_url"])
    assert stored["dtype"] == "<f8" and stored["frequency_step"] == frequencies[1]
    assert_close(np.frombuffer(wendelin_server.raw(psd["relative_url"]), dtype="<f8"), want)

    grid = saved(kc, 'context.data_array_module.create(#{reference: "left-sg"}, spectrogram(left, #{nperseg: 1024}))')
    frequencies, times, want = scipy.signal.spectrogram(x, fs=rate, nperseg=1024)
    stored = properties(wendelin_server, grid["relative_url"])
    assert stored["shape"] == [times.size, frequencies.size]
    assert stored["time_step"] == pytest.approx(times[1] - times[0], rel=1e-12)
    got = np.frombuffer(wendelin_server.raw(grid["relative_url"]), dtype="<f8")
    assert_close(got.reshape(times.size, frequencies.size).T, want)


def test_figure_saved_as_image_comes_back_byte_for_byte_and_shows_inline(kc, wendelin_server):  # noqa: F811
    shown = result(run_ok(kc, 'let fig = plot(welch(left), #{width: 500, height: 250, log_y: true}); fig'))
    _, displayed = png_of(shown)

    content = result(run_ok(kc, 'let img = context.image_module.create(#{reference: "psd-plot"}, fig); img'))
    assert content["data"]["text/plain"].startswith("Image image_module/")
    _, inline = png_of(content)
    assert inline == displayed
    assert content["metadata"]["image/png"] == {"width": 500, "height": 250}

    url = result(run_ok(kc, "img.relative_url"))["data"]["text/plain"].strip('"')
    assert wendelin_server.raw(url) == displayed


def test_data_array_written_over_http_plots_again_from_the_server(kc, wendelin_server):  # noqa: F811
    values = np.sin(np.linspace(0, 20, 5000)) * np.linspace(1, 2, 5000)
    document = wendelin_server.json(
        "POST", "data_array_module/newContent",
        {"portal_type": "Data Array", "reference": "http-array", "dtype": "<f8", "shape": [0], "sample_rate": 1000},
    )
    body = values.astype("<f8").tobytes()
    status, _, answer = wendelin_server.request(
        "PUT", document["relative_url"], body, {"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"}
    )
    assert status < 300, answer

    options = '#{width: 400, height: 200, color: "red"}'
    from_server = result(run_ok(kc, f'plot(context.data_array_module.by_reference("http-array"), {options})'))
    assert from_server["data"]["text/plain"] == "line plot of 5,000 samples (5 s at 1000 Hz), 400×200 px"
    image, _ = png_of(from_server)
    assert image.size == (400, 200) and reddish_pixels(image) > 100

    literal = result(run_ok(kc, f"plot(signal({rhai_array(values)}, 1000.0), {options})"))
    assert np.array_equal(np.asarray(png_of(literal)[0]), np.asarray(image))


def test_saving_in_the_wrong_module_or_with_reserved_properties_is_refused(kc):
    reply, _ = execute(kc, 'context.image_module.create(#{reference: "x"}, welch(left))')
    assert "results are saved as Data Arrays in context.data_array_module, not in image_module" in reply["content"]["evalue"]
    reply, _ = execute(kc, 'context.data_array_module.create(#{dtype: "<f4"}, welch(left))')
    assert 'property "dtype" is set by the kernel' in reply["content"]["evalue"]
    reply, _ = execute(kc, 'context.data_array_module.create(#{reference: "f"}, plot(left))')
    assert "figures are saved as Images in context.image_module" in reply["content"]["evalue"]
    assert result(run_ok(kc, "left.sample_rate"))["data"]["text/plain"] == "48000.0"


def test_image_read_by_reference_is_the_saved_png(kc, wendelin_server):  # noqa: F811
    run_ok(kc, 'let again = plot(left, #{width: 300, height: 120}); let saved_img = context.image_module.create(#{reference: "again"}, again);')
    url = result(run_ok(kc, "saved_img.relative_url"))["data"]["text/plain"].strip('"')
    raw = wendelin_server.raw(url)
    shown = result(run_ok(kc, "again"))
    assert base64.b64decode(shown["data"]["image/png"]) == raw


def test_saved_image_and_spectrum_found_again_through_navigation(kc, wendelin_server):  # noqa: F811
    # regression: an Image looked up by id showed as a bare document, and a
    # <c16 spectrum looked up by reference failed with 'invalid dtype "<c16"'
    run_ok(kc, 'let nav_fig = plot(left, #{width: 200, height: 100}); let nav_img = context.image_module.create(#{reference: "nav-image"}, nav_fig);')
    run_ok(kc, 'context.data_array_module.create(#{reference: "nav-spectrum"}, rfft(left.slice(0, 4096)));')
    image_id = result(run_ok(kc, "nav_img.id"))["data"]["text/plain"].strip('"')

    shown = result(run_ok(kc, f'context.image_module["{image_id}"]'))
    raw = wendelin_server.raw(f"image_module/{image_id}")
    assert base64.b64decode(shown["data"]["image/png"]) == raw

    found = result(run_ok(kc, 'context.data_array_module.by_reference("nav-spectrum")'))
    assert "nav-spectrum" in found["data"]["text/plain"]
    assert result(run_ok(kc, 'context.data_array_module.by_reference("nav-spectrum").portal_type'))["data"]["text/plain"] == '"Data Array"'
