"""Helpers shared by the analysis and plot tests (this module holds no
tests): numbers into a cell, values out of a cell's result, PNGs out of
a display, and the tolerance the spectral results are held to."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

from support.kernel import execute, of_type


def rhai_number(value: float) -> str:
    """A float as a Rhai literal that reads back to the same double."""
    text = repr(float(value))
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def rhai_array(values: np.ndarray) -> str:
    """A Rhai array literal of ``values``."""
    return "[" + ", ".join(rhai_number(v) for v in values) + "]"


def run_ok(kc, code: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Runs ``code``, fails with the kernel's error if it fails, returns
    the IOPub messages."""
    reply, messages = execute(kc, code, timeout=timeout)
    content = reply["content"]
    assert content["status"] == "ok", f"{content.get('ename')}: {content.get('evalue')}"
    return messages


def result(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``execute_result`` content of a cell."""
    results = of_type(messages, "execute_result")
    assert len(results) == 1, [m["msg_type"] for m in messages]
    return results[0]["content"]


def values(kc, expression: str, timeout: float = 120) -> np.ndarray:
    """The numbers of ``expression.to_array()`` (at most 10,000: the
    kernel's JSON form of arrays), as float64."""
    data = result(run_ok(kc, f"{expression}.to_array()", timeout))["data"]
    assert "application/json" in data, data["text/plain"][:200]
    return np.asarray(data["application/json"], dtype=np.float64)


def long_values(kc, expression: str, length: int, piece: int = 10_000) -> np.ndarray:
    """The numbers of a longer signal-valued ``expression``, fetched in
    slices of ``piece`` (the expression is evaluated once per slice, so
    no variable keeps its value alive)."""
    parts = [
        values(kc, f"{expression}.slice({start}, {min(start + piece, length)})")
        for start in range(0, length, piece)
    ]
    return np.concatenate(parts)


def error_of(kc, code: str) -> dict[str, Any]:
    """The error reply content of a cell expected to fail."""
    reply, messages = execute(kc, code)
    content = reply["content"]
    assert content["status"] == "error", content
    errors = of_type(messages, "error")
    assert errors and errors[0]["content"]["evalue"] == content["evalue"]
    return content


def assert_close(got: np.ndarray, want: np.ndarray, relative: float = 1e-12) -> None:
    """Within ``relative`` of the largest magnitude of ``want``, with a
    floor of 1e-14."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    tolerance = max(relative * scale, 1e-14)
    worst = float(np.max(np.abs(got - want))) if want.size else 0.0
    assert worst <= tolerance, f"largest difference {worst:.3e} > {tolerance:.3e}"


def png_of(content: dict[str, Any]):
    """The decoded ``image/png`` of a display or result, as a PIL image in
    RGB, with its raw bytes."""
    from PIL import Image

    raw = base64.b64decode(content["data"]["image/png"])
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image.convert("RGB"), raw


def pixels_of_colour(image, rgb: tuple[int, int, int]) -> int:
    """How many pixels have exactly ``rgb``."""
    array = np.asarray(image)
    return int(np.all(array == np.array(rgb, dtype=np.uint8), axis=-1).sum())


def reddish_pixels(image) -> int:
    """How many pixels are mostly pure red (drawn in red, perhaps blended
    with the white background by anti-aliasing)."""
    array = np.asarray(image).astype(int)
    r, g, b = array[..., 0], array[..., 1], array[..., 2]
    return int(((r > 200) & (g < 128) & (b < 128) & (np.abs(g - b) < 10)).sum())


def as_json(content: dict[str, Any]) -> Any:
    """The ``application/json`` of a result."""
    value = content["data"]["application/json"]
    return json.loads(value) if isinstance(value, str) else value
