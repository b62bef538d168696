"""Every notebook in notebooks/ executed headless with `jupyter nbconvert
--execute`, as the main job runs them, against a real server holding the
tutorial's recording ingested the way fluentd sends it. A failing cell
fails the test.

The tutorial's results are then checked on the server, independently of
the kernel: the Data Array of the left channel against scipy's reading of
the WAV file, the spectrum against numpy's rfft of the same samples, the
Images as PNG files, and the Data Notebook's record of the run.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from scipy.io import wavfile

from support.server import PASSWORD, USER, Server, start_server

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
RECORDING = REPO / "notebooks" / "data" / "speaker-positions.wav"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def tutorial_server(tmp_path: Path):
    """A fresh server with the recording ingested as fluentd frames."""
    server = start_server(tmp_path / "server-data")
    command = [
        sys.executable, str(REPO / "scripts" / "fluentd_ingest.py"), str(RECORDING),
        "--url", server.url, "--tag", "speaker-positions",
        "--user", USER, "--password", PASSWORD, "--chunk-size", str(256 * 1024),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    yield server
    server.stop()


def execute(notebook: Path, server: Server, output_dir: Path) -> nbformat.NotebookNode:
    environment = os.environ | {
        "WENDELIN_URL": server.url,
        "WENDELIN_USER": USER,
        "WENDELIN_PASSWORD": PASSWORD,
    }
    command = [
        str(Path(sys.executable).with_name("jupyter")), "nbconvert", "--to", "notebook",
        "--execute", "--ExecutePreprocessor.kernel_name=wendelin",
        "--ExecutePreprocessor.timeout=300", "--output-dir", str(output_dir), str(notebook),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert finished.returncode == 0, f"{notebook.name} failed:\n{finished.stderr[-3000:]}"
    return nbformat.read(output_dir / notebook.name, as_version=4)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_executes_headless(notebook, kernel_name, tutorial_server, tmp_path):
    executed = execute(notebook, tutorial_server, tmp_path)

    errors = [
        output
        for cell in executed.cells
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []


def document(server: Server, module: str, reference: str) -> dict:
    found = [d for d in server.documents(module) if d["reference"] == reference]
    assert len(found) == 1, f"{module} holds {len(found)} documents with reference {reference!r}"
    return found[0]


def test_tutorial_results_live_on_the_server(kernel_name, tutorial_server, tmp_path):
    executed = execute(REPO / "notebooks" / "tutorial.ipynb", tutorial_server, tmp_path)
    rate, samples = wavfile.read(RECORDING)
    left = samples[:, 0].astype(np.float64) / 32768.0

    # the left channel, stored as <f8 with its sample rate
    stored = document(tutorial_server, "data_array_module", "speaker-positions-left")
    assert stored["dtype"] == "<f8" and stored["shape"] == [len(left)]
    assert float(stored["sample_rate"]) == rate
    values = np.frombuffer(tutorial_server.raw(stored["relative_url"]), dtype="<f8")
    assert np.array_equal(values, left)

    # its full spectrum, computed out of core by the kernel
    spectrum = document(tutorial_server, "data_array_module", "speaker-positions-left-spectrum")
    assert spectrum["dtype"] == "<c16"
    bins = np.frombuffer(tutorial_server.raw(spectrum["relative_url"]), dtype="<c16")
    expected = np.fft.rfft(left)
    assert np.max(np.abs(bins - expected)) <= 1e-12 * np.max(np.abs(expected))

    # the plots, as PNG Images, the first equal to what the notebook showed
    shown = [
        base64.b64decode(output.data["image/png"])
        for cell in executed.cells if cell.cell_type == "code"
        for output in cell.outputs if "image/png" in output.get("data", {})
    ]
    for reference in ("speaker-positions-spectrum", "speaker-positions-spectrogram"):
        image = document(tutorial_server, "image_module", reference)
        assert image["content_type"] == "image/png"
        assert tutorial_server.raw(image["relative_url"]) in shown

    # the record of the run, one line per executed cell
    record = document(tutorial_server, "data_notebook_module", "speaker-positions-analysis")
    status, _, body = tutorial_server.request("GET", f"{record['relative_url']}/getDataNotebookLineList")
    assert status == 200
    lines = json.loads(body)
    codes = [c.source for c in executed.cells if c.cell_type == "code"]
    recorded = json.dumps(lines)
    assert "rfft(left)" in recorded and codes[-1] in recorded
