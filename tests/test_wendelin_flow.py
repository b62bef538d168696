"""The ERP5 tutorial's flow through the real kernel against the real
server: magics, navigation and display, Data Stream access, WAV channels
(statistics checked against numpy on scipy's reading of the same file),
raw samples, fluentd frames, Data Arrays (read back over HTTP and compared
with numpy's samples) and Data Notebook recording (checked through the
server's HTTP API)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from support import kernel as k
from support.server import PASSWORD, USER, wendelin_server  # noqa: F401

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[1]
SPEAKERS = REPO / "notebooks" / "data" / "speaker-positions.wav"
RECORDINGS = REPO.parent / "shared" / "data" / "recordings"


def result(messages):
    """The text/plain of the cell's execute_result, or None."""
    for m in k.of_type(messages, "execute_result"):
        return m["content"]["data"]["text/plain"]
    return None


def bundle(messages):
    """The data of the cell's execute_result."""
    for m in k.of_type(messages, "execute_result"):
        return m["content"]["data"]
    raise AssertionError(f"no execute_result in {[m['msg_type'] for m in messages]}")


def ok(kc, code, timeout=120):
    """Runs a cell that must succeed; returns its messages."""
    reply, messages = k.execute(kc, code, timeout=timeout)
    assert reply["content"]["status"] == "ok", (code, reply["content"], k.stream_text(messages, "stderr"))
    return messages


def value(kc, code):
    """The text result of a cell that must succeed."""
    return result(ok(kc, code))


def number(kc, code):
    return float(value(kc, code))


@pytest.fixture(scope="module")
def seeded(wendelin_server):  # noqa: F811
    """The recordings ingested raw (appending PUTs) and as fluentd frames."""
    server = wendelin_server
    speakers = SPEAKERS.read_bytes()
    raw = server.create_stream("speaker", speakers, chunk=1 << 20)
    assert server.raw(raw["relative_url"]) == speakers
    left = (RECORDINGS / "Front_Left.wav").read_bytes()
    front = server.create_stream("front-left", left)
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fluentd_ingest.py"), str(SPEAKERS),
         "--url", server.url, "--tag", "fluent.speaker", "--user", USER, "--password", PASSWORD],
        check=True, capture_output=True, text=True,
    )
    fluent = [d for d in server.documents("data_stream_module") if d["reference"] == "fluent"]
    assert len(fluent) == 1 and fluent[0]["size"] > len(speakers)
    return {"speaker": raw, "front": front, "fluent": fluent[0]}


@pytest.fixture(scope="module")
def kc(seeded, wendelin_server):  # noqa: F811
    """A kernel connected to the server through the magics."""
    km, client = k.start()
    yield client
    k.stop(km, client)


def connect(kc, server):
    reply, messages = k.execute(
        kc,
        f"%erp5_url {server.url}/Base_executeJupyter\n%erp5_user {USER}\n%erp5_password {PASSWORD}",
    )
    return reply, messages


def test_magics_say_what_is_missing_then_that_the_connection_works(kc, wendelin_server):  # noqa: F811
    reply, messages = k.execute(kc, f"%erp5_url {wendelin_server.url}/Base_executeJupyter")
    text = k.stream_text(messages)
    assert f"erp5_url = {wendelin_server.url}\n" in text.replace(";", "\n")
    assert "%erp5_user" in text and "%erp5_password" in text

    reply, messages = connect(kc, wendelin_server)
    text = k.stream_text(messages)
    assert reply["content"]["status"] == "ok"
    assert f"connected to {wendelin_server.url}" in text
    assert PASSWORD not in text
    echoed = [m["content"]["code"] for m in k.of_type(messages, "execute_input")]
    assert echoed and all(PASSWORD not in code for code in echoed)


def test_context_and_modules_display_as_tables_with_counts(kc, wendelin_server, seeded):  # noqa: F811
    connect(kc, wendelin_server)
    streams = len(wendelin_server.documents("data_stream_module"))
    data = bundle(ok(kc, "context"))
    assert "<table>" in data["text/html"]
    assert f"data_stream_module: {streams} Data Stream document(s)" in data["text/plain"]

    data = bundle(ok(kc, "context.data_stream_module"))
    assert "<table>" in data["text/html"] and "speaker" in data["text/html"]
    data = bundle(ok(kc, 'context["data_stream_module"].by_reference("speaker")'))
    assert "<table>" in data["text/html"]
    assert seeded["speaker"]["relative_url"] in data["text/plain"]


def test_document_properties_match_the_server(kc, wendelin_server, seeded):  # noqa: F811
    connect(kc, wendelin_server)
    expected = seeded["speaker"]
    doc_id = expected["id"]
    ok(kc, f'let s = context.data_stream_module["{doc_id}"];')
    assert value(kc, "s.id") == f'"{doc_id}"'
    assert value(kc, "s.reference") == '"speaker"'
    assert value(kc, "s.portal_type") == '"Data Stream"'
    assert value(kc, "s.relative_url") == f'"{expected["relative_url"]}"'
    assert value(kc, "s.url") == f'"{wendelin_server.url}/{expected["relative_url"]}"'
    assert int(value(kc, "s.size")) == SPEAKERS.stat().st_size
    code = "s.re"
    msg_id = kc.complete(code, len(code))
    matches = k.shell_reply(kc, msg_id)["content"]["matches"]
    assert "read" in matches and "reference" in matches and "relative_url" in matches, matches
    found = value(kc, 'let f = context.data_stream_module.search(#{reference: "speaker"}); [f.len(), f[0].id]')
    assert found.replace(" ", "") == f'[1,"{doc_id}"]'


def test_stream_reads_iterates_and_appends_the_bytes_the_server_holds(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    data = SPEAKERS.read_bytes()
    ok(kc, 'let s = context.data_stream_module.by_reference("speaker");')
    head = value(kc, "let b = s.read(0, 12); let out = []; for x in b { out.push(x) } out")
    assert [int(x) for x in head.strip("[]").split(",")] == list(data[:12])
    total = value(kc, "let n = 0; let c = 0; for chunk in s.iterate(100000) { n += chunk.len(); c += 1; } [n, c]")
    assert total.replace(" ", "") == f"[{len(data)},{-(-len(data) // 100000)}]"

    created = wendelin_server.create_stream("appendable", b"abc")
    ok(kc, 'let a = context.data_stream_module.by_reference("appendable");')
    assert int(value(kc, 'let b = blob(4, 0x7a); a.append(b)')) == 7
    assert wendelin_server.raw(created["relative_url"]) == b"abczzzz"
    assert int(value(kc, "a.data().len()")) == 7


def channel_stats(samples):
    x = samples.astype(np.float64) / 32768.0
    return {"min": x.min(), "max": x.max(), "mean": x.mean(), "rms": np.sqrt(np.mean(x * x))}


@pytest.mark.parametrize("fmt", ["raw", "fluentd"])
def test_wav_channel_statistics_match_numpy_on_scipys_reading(kc, wendelin_server, fmt):  # noqa: F811
    connect(kc, wendelin_server)
    rate, samples = wavfile.read(SPEAKERS)
    if fmt == "raw":
        ok(kc, 'let r = BigFileReader(context.data_stream_module.by_reference("speaker"));')
    else:
        ok(kc, 'let r = BigFileReader(context.data_stream_module.by_reference("fluent"), #{format: "fluentd", cache: "4MiB"});')
        assert int(value(kc, "r.size")) == SPEAKERS.stat().st_size
    ok(kc, "let w = r.wav();")
    assert int(value(kc, "w.sample_rate")) == rate
    assert int(value(kc, "w.channels")) == samples.shape[1]
    assert int(value(kc, "w.bits_per_sample")) == 16
    assert int(value(kc, "w.frames")) == samples.shape[0]
    assert number(kc, "w.duration") == pytest.approx(samples.shape[0] / rate)
    for channel in range(samples.shape[1]):
        expected = channel_stats(samples[:, channel])
        ok(kc, f"let c = w.channel({channel});")
        assert int(value(kc, "c.len")) == samples.shape[0]
        assert number(kc, "c.sample_rate") == rate
        for name, wanted in expected.items():
            assert number(kc, f"c.{name}()") == pytest.approx(wanted, rel=1e-12, abs=1e-15), name


def test_recordings_from_the_shared_data_match_scipy(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    rate, samples = wavfile.read(RECORDINGS / "Front_Left.wav")
    ok(kc, 'let left = BigFileReader(context.data_stream_module.by_reference("front-left")).wav().channel(0);')
    expected = channel_stats(samples if samples.ndim == 1 else samples[:, 0])
    assert number(kc, "left.rms()") == pytest.approx(expected["rms"], rel=1e-12)
    assert number(kc, "left.mean()") == pytest.approx(expected["mean"], rel=1e-9, abs=1e-15)


def test_raw_samples_decode_the_pcm_bytes_like_numpy(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    rate, samples = wavfile.read(SPEAKERS)
    pcm = samples.astype("<i2").tobytes()
    wendelin_server.create_stream("pcm", pcm)
    ok(kc, 'let raw = BigFileReader(context.data_stream_module.by_reference("pcm")).samples(#{dtype: "<i2", channels: 2, sample_rate: 48000});')
    assert int(value(kc, "raw.frames")) == samples.shape[0]
    right = samples[:, 1].astype(np.float64)
    assert number(kc, "raw.channel(1).mean()") == pytest.approx(right.mean(), rel=1e-12)
    assert number(kc, "raw.channel(1).max()") == right.max()
    assert number(kc, "raw.channel(1).sample_rate") == 48000


def test_data_array_written_from_a_signal_reads_back_as_numpys_samples(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    rate, samples = wavfile.read(SPEAKERS)
    left = samples[:, 0].astype(np.float64) / 32768.0
    ok(kc, 'let left = BigFileReader(context.data_stream_module.by_reference("speaker")).wav().channel(0);')
    messages = ok(kc, 'let a = context.data_array_module.create(#{reference: "left", title: "left channel"}, left); a')
    assert "<table>" in bundle(messages)["text/html"]
    shown = [m for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
    assert shown and f"{len(left) * 8:,} bytes" in shown[-1]["content"]["data"]["text/plain"]
    assert value(kc, "a.dtype") == '"<f8"'
    assert value(kc, "a.shape").replace(" ", "") == f"[{len(left)}]"
    assert number(kc, "a.signal().sample_rate") == rate

    stored = [d for d in wendelin_server.documents("data_array_module") if d["reference"] == "left"]
    assert len(stored) == 1 and stored[0]["title"] == "left channel"
    on_server = np.frombuffer(wendelin_server.raw(stored[0]["relative_url"]), dtype="<f8")
    np.testing.assert_array_equal(on_server, left)

    head = value(kc, "a.read(1000, 1010)")
    np.testing.assert_array_equal(np.array([float(x) for x in head.strip("[]").split(",")]), left[1000:1010])
    assert number(kc, "a.signal().rms()") == pytest.approx(np.sqrt(np.mean(left * left)), rel=1e-12)

    ok(kc, 'let small = context.data_array_module.create(#{reference: "numbers"}, [1, 2.5, -3]);')
    small = [d for d in wendelin_server.documents("data_array_module") if d["reference"] == "numbers"][0]
    np.testing.assert_array_equal(
        np.frombuffer(wendelin_server.raw(small["relative_url"]), dtype="<f8"), [1.0, 2.5, -3.0]
    )


def test_image_and_stream_created_from_blobs_hold_the_bytes(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 60)).save(buffer, format="PNG")
    payload = buffer.getvalue()
    size = len(payload)
    items = ", ".join(str(b) for b in payload)
    ok(kc, f"let bytes = blob(); for x in [{items}] {{ bytes.push(x); }}")
    ok(kc, 'let img = context.image_module.create(#{reference: "logo"}, bytes);')
    assert value(kc, "img.portal_type") == '"Image"'
    image = [d for d in wendelin_server.documents("image_module") if d["reference"] == "logo"][0]
    assert image["size"] == size
    assert wendelin_server.raw(image["relative_url"]) == payload
    ok(kc, 'let st = context.data_stream_module.create(#{reference: "from-blob"}, bytes);')
    stream = [d for d in wendelin_server.documents("data_stream_module") if d["reference"] == "from-blob"][0]
    assert wendelin_server.raw(stream["relative_url"]) == payload


def test_cells_are_recorded_in_the_data_notebook_without_the_password(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    ok(kc, "%notebook_set_title Recorded by the suite\n%notebook_set_reference suite-record")
    ok(kc, "let answer = 40 + 2;\nanswer")
    reply, _ = k.execute(kc, "no_such_variable + 1")
    assert reply["content"]["status"] == "error"
    ok(kc, f"%erp5_password {PASSWORD}")
    ok(kc, '"done"')

    notebooks = [d for d in wendelin_server.documents("data_notebook_module") if d["reference"] == "suite-record"]
    assert len(notebooks) == 1 and notebooks[0]["title"] == "Recorded by the suite"
    lines = wendelin_server.json("GET", f"{notebooks[0]['relative_url']}/getDataNotebookLineList")
    codes = [line["code"] for line in lines]
    assert "let answer = 40 + 2;\nanswer" in codes
    answer = lines[codes.index("let answer = 40 + 2;\nanswer")]
    assert answer["result"] == "42" and answer["status"] == "ok"
    failed = lines[codes.index("no_such_variable + 1")]
    assert failed["status"] == "error" and "no_such_variable" in failed["result"]
    assert '"done"' in codes
    assert all(PASSWORD not in line["code"] and PASSWORD not in line["result"] for line in lines)

    reply, messages = k.execute(kc, "%my_notebooks")
    assert "suite-record" in k.stream_text(messages)


def test_tutorial_notebook_runs_headless_under_nbclient(seeded, wendelin_server):  # noqa: F811
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [
        f"%erp5_url {wendelin_server.url}\n%erp5_user {USER}\n%erp5_password {PASSWORD}",
        "context",
        'let s = context.data_stream_module.by_reference("speaker");\ns',
        "let w = BigFileReader(s).wav();\nw",
        "let right = w.channel(1);\nright.rms()",
        'let a = context.data_array_module.create(#{reference: "right-nb", title: "right"}, right);\na.shape',
    ]
    notebook = new_notebook(
        cells=[new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "wendelin", "display_name": "Wendelin", "language": "rhai"}},
    )
    NotebookClient(notebook, timeout=120, kernel_name="wendelin").execute()
    nbformat.validate(notebook)

    def data(index):
        return [o for o in notebook.cells[index].outputs if o.output_type == "execute_result"][0].data

    assert "<table>" in data(1)["text/html"] and "<table>" in data(2)["text/html"]
    assert "48000 Hz" in data(3)["text/plain"]
    rate, samples = wavfile.read(SPEAKERS)
    assert float(data(4)["text/plain"]) == pytest.approx(channel_stats(samples[:, 1])["rms"], rel=1e-12)
    assert data(5)["text/plain"].replace(" ", "") == f"[{samples.shape[0]}]"
    outputs = [o for cell in notebook.cells for o in cell.outputs]
    assert PASSWORD not in str(outputs)


def test_reader_seeks_reads_and_tracks_its_position(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    data = SPEAKERS.read_bytes()
    ok(kc, 'let r = BigFileReader(context.data_stream_module.by_reference("speaker"), #{cache: "256KiB"});')
    assert int(value(kc, "r.size")) == len(data)
    assert int(value(kc, "r.seek(1000)")) == 1000
    got = value(kc, "let b = r.read(9); let out = []; for x in b { out.push(x) } out")
    assert [int(x) for x in got.strip("[]").split(",")] == list(data[1000:1009])
    assert int(value(kc, "r.position")) == 1009
    ok(kc, f"r.seek({len(data) - 3});")
    assert int(value(kc, "r.read(100).len()")) == 3
    assert int(value(kc, "r.read(100).len()")) == 0
    reply, _ = k.execute(kc, f"r.seek({len(data) + 1})")
    assert reply["content"]["status"] == "error" and str(len(data)) in reply["content"]["evalue"]
