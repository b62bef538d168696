"""Session fixtures of the end-to-end suite.

Binaries are found in ``$WENDELIN_BIN_DIR``, else ``$CARGO_TARGET_DIR/debug``,
else ``<repo>/target/debug`` (``support.binaries``). The kernelspec
``wendelin`` is installed once per session with
``wendelin-kernel install --prefix <tmp>`` and ``JUPYTER_PATH`` points at
it for the whole session, so jupyter_client, nbclient and
jupyter_kernel_test start the kernel by name.

Keep this file general: fixtures for other binaries (e.g. one that starts
``wendelin-server --listen 127.0.0.1:0`` and reads its
``listening on http://127.0.0.1:PORT/erp5`` line) belong next to these.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.binaries import REPO, bin_dir, binary  # noqa: E402


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The workspace root."""
    return REPO


@pytest.fixture(scope="session")
def binaries_dir() -> Path:
    """The directory holding the built binaries."""
    return bin_dir()


@pytest.fixture(scope="session")
def kernel_binary() -> Path:
    """The built ``wendelin-kernel``; fails with the command to build it."""
    return binary("wendelin-kernel")


@pytest.fixture(scope="session")
def kernel_prefix(tmp_path_factory: pytest.TempPathFactory, kernel_binary: Path) -> Path:
    """Installs the kernelspec into a temporary prefix and puts that prefix
    first in ``JUPYTER_PATH`` for the rest of the session."""
    prefix = tmp_path_factory.mktemp("jupyter-prefix")
    subprocess.run(
        [str(kernel_binary), "install", "--prefix", str(prefix)],
        check=True,
        capture_output=True,
        text=True,
    )
    data = prefix / "share" / "jupyter"
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [str(data), previous] if p)
    yield prefix
    if previous is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = previous


@pytest.fixture(scope="session")
def kernel_name(kernel_prefix: Path) -> str:
    """The name to start the installed kernel by."""
    return "wendelin"
