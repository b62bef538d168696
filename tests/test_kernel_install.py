"""`wendelin-kernel install` and start-up failures, driven as a user would:
the binary, environment variables, and jupyter_client's own kernelspec
lookup as the oracle of where Jupyter finds the kernel."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from PIL import Image

pytestmark = pytest.mark.timeout(60)


def run(binary: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=full_env, timeout=30)


def test_user_install_honours_jupyter_data_dir(kernel_binary, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    result = run(kernel_binary, "install", "--user", env={"JUPYTER_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    spec_dir = data_dir / "kernels" / "wendelin"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"] == [str(kernel_binary.resolve()), "--connection-file", "{connection_file}"]
    assert spec["interrupt_mode"] == "message"

    # jupyter_client, told the same data dir, finds exactly this spec (the
    # user directory first: inside a virtual environment Jupyter would
    # otherwise prefer a spec the main job installed into the environment)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("JUPYTER_PATH", "")
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    found = KernelSpecManager().find_kernel_specs()
    assert Path(found["wendelin"]).resolve() == spec_dir.resolve()


def test_prefix_install_has_the_three_logos(kernel_binary, tmp_path):
    assert run(kernel_binary, "install", "--prefix", str(tmp_path)).returncode == 0
    spec_dir = tmp_path / "share" / "jupyter" / "kernels" / "wendelin"
    for name, size in [("logo-32x32.png", 32), ("logo-64x64.png", 64)]:
        with Image.open(spec_dir / name) as logo:
            assert logo.size == (size, size)
    assert (spec_dir / "logo-svg.svg").read_text().lstrip().startswith("<svg")
    resources = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]).get_kernel_spec("wendelin")
    assert resources.language == "rhai"


def test_prefix_outside_jupyter_path_is_reported(kernel_binary, tmp_path):
    result = run(kernel_binary, "install", "--prefix", str(tmp_path), env={"JUPYTER_PATH": ""})
    assert result.returncode == 0
    assert "JUPYTER_PATH" in result.stderr


def test_sys_prefix_without_an_environment_is_refused(kernel_binary):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    result = subprocess.run(
        [str(kernel_binary), "install", "--sys-prefix"], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode != 0
    assert "VIRTUAL_ENV" in result.stderr


def test_missing_connection_file_fails_with_its_path(kernel_binary, tmp_path):
    missing = tmp_path / "nowhere.json"
    result = run(kernel_binary, "--connection-file", str(missing))
    assert result.returncode != 0
    assert str(missing) in result.stderr


def test_unsupported_signature_scheme_is_named(kernel_binary, tmp_path):
    connection = tmp_path / "kernel.json"
    connection.write_text(json.dumps({
        "transport": "tcp", "ip": "127.0.0.1", "shell_port": 1, "iopub_port": 2,
        "stdin_port": 3, "control_port": 4, "hb_port": 5,
        "signature_scheme": "hmac-md5", "key": "k",
    }))
    result = run(kernel_binary, "--connection-file", str(connection))
    assert result.returncode != 0
    assert "hmac-md5" in result.stderr


def test_no_arguments_explains_what_to_do(kernel_binary):
    result = run(kernel_binary)
    assert result.returncode != 0
    assert "--connection-file" in result.stderr and "install" in result.stderr
