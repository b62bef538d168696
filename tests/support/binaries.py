"""Where the built binaries are: ``$WENDELIN_BIN_DIR``, else
``$CARGO_TARGET_DIR/debug``, else ``<repo>/target/debug``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def bin_dir() -> Path:
    """The directory the binaries are taken from."""
    if os.environ.get("WENDELIN_BIN_DIR"):
        return Path(os.environ["WENDELIN_BIN_DIR"]).resolve()
    if os.environ.get("CARGO_TARGET_DIR"):
        return (Path(os.environ["CARGO_TARGET_DIR"]) / "debug").resolve()
    return REPO / "target" / "debug"


def binary(name: str) -> Path:
    """The path of a built binary; fails the test with the build command
    when it is missing."""
    path = bin_dir() / name
    if not path.is_file():
        pytest.fail(
            f"{path} does not exist: build it with `cargo build --bins` "
            f"(or set WENDELIN_BIN_DIR to the directory holding {name})"
        )
    return path
