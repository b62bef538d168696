"""Headless runners: the language notebook executed by
``jupyter nbconvert --execute``, nbclient's error and dead-kernel
handling, and outputs that nbclient keeps in order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(180)]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "language.ipynb"


def plain(cell):
    for output in cell.outputs:
        if output.output_type == "execute_result":
            return output.data["text/plain"]
    return None


def notebook(*sources):
    return new_notebook(
        cells=[new_code_cell(s) for s in sources],
        metadata={"kernelspec": {"name": "wendelin", "display_name": "Wendelin", "language": "rhai"}},
    )


def test_language_notebook_runs_under_nbconvert(tmp_path):
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "nbconvert", "--to", "notebook", "--execute",
        "--ExecutePreprocessor.timeout=60",
        "--output-dir", str(tmp_path), str(NOTEBOOK),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ.copy())
    executed = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]

    assert plain(code[1]) == str(2 * 21)
    assert plain(code[2]) == str(len("Hello from Rhai"))
    assert code[2].outputs[0].text == "Hello from Rhai\n"
    assert plain(code[3]).startswith('"caught: ')
    assert [o.output_type for o in code[4].outputs] == ["error"]
    assert code[4].outputs[0].ename == "VariableNotFound"
    kinds = [set(o.data) for o in code[5].outputs if o.output_type == "display_data"]
    assert {"text/html", "text/plain"} <= kinds[0] and "image/png" in kinds[1]
    assert plain(code[6]) == "true"
    assert executed.metadata.language_info.name == "rhai"


def test_error_cell_raises_cell_execution_error():
    client = NotebookClient(notebook("let a = 1;", "a + nowhere", "a"), timeout=30)
    with pytest.raises(CellExecutionError) as raised:
        client.execute()
    assert "VariableNotFound" in str(raised.value)


def test_nbclient_keeps_every_print_in_order():
    client = NotebookClient(notebook('for i in 0..1000 { print(`line ${i}`); }\n"done"'), timeout=60)
    executed = client.execute()
    cell = executed.cells[0]
    text = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    assert text == "".join(f"line {i}\n" for i in range(1000))
    assert plain(cell) == '"done"'


def test_display_updates_rewrite_earlier_outputs():
    source = 'display("first", "d1");\nupdate_display("second", "d1");'
    executed = NotebookClient(notebook(source), timeout=30).execute()
    shown = [o.data["text/plain"] for o in executed.cells[0].outputs if o.output_type == "display_data"]
    assert shown == ['"second"']


def test_killed_kernel_gives_dead_kernel_error_without_waiting_for_the_cell():
    client = NotebookClient(notebook("1", "sleep_ms(60000)"), timeout=120)
    started = {}

    def kill_soon(cell, cell_index, **_):
        if cell_index == 1:
            pid = client.km.provisioner.process.pid
            threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
            started["at"] = time.monotonic()

    client.on_cell_execute = kill_soon
    with pytest.raises(DeadKernelError):
        client.execute()
    # the cell would have run 60 s: the runner noticed the death instead
    assert time.monotonic() - started["at"] < 30
