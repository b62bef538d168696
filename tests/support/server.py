"""A real ``wendelin-server`` for the end-to-end suite, and a small HTTP
client for setting it up and checking it independently of the kernel.

The server is the built binary from the binaries directory
(``support.binaries``), started on ``--listen 127.0.0.1:0 --data-dir <tmp>``;
its ``listening on http://...`` line gives the URL. Import the fixtures in a
test module: ``from support.server import wendelin_server  # noqa: F401``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.binaries import binary

USER = "zope"
PASSWORD = "insecure"
LISTENING = re.compile(r"listening on (http://\S+/erp5)")


class Server:
    """A running server: its URL and an HTTP client with its credentials."""

    def __init__(self, process: subprocess.Popen, url: str, data_dir: Path):
        self.process = process
        self.url = url
        self.data_dir = data_dir

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        password: str = PASSWORD,
    ) -> tuple[int, dict[str, str], bytes]:
        """Sends one request to ``<url>/<path>``; returns status, headers
        and body (errors included, never raised)."""
        token = base64.b64encode(f"{USER}:{password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/{path}" if path else self.url,
            data=body,
            method=method,
            headers={"Authorization": f"Basic {token}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, value: Any = None) -> Any:
        """A JSON call that must succeed."""
        body = None if value is None else json.dumps(value).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, answer = self.request(method, path, body, headers)
        assert status < 300, f"{method} {path}: HTTP {status} {answer[:300]!r}"
        return json.loads(answer)

    def create_stream(self, reference: str, data: bytes, chunk: int = 4 << 20) -> dict:
        """A Data Stream holding ``data``, written with appending PUTs."""
        document = self.json(
            "POST", "data_stream_module/newContent",
            {"portal_type": "Data Stream", "reference": reference, "title": reference},
        )
        path = document["relative_url"]
        total = len(data)
        for start in range(0, total, chunk):
            piece = data[start:start + chunk]
            end = start + len(piece) - 1
            status, _, answer = self.request(
                "PUT", path, piece, {"Content-Range": f"bytes {start}-{end}/{end + 1}"}
            )
            assert status < 300, f"append at {start}: HTTP {status} {answer[:300]!r}"
        return document

    def raw(self, relative_url: str) -> bytes:
        """Every byte of a document (``?format=raw``)."""
        status, _, body = self.request("GET", f"{relative_url}?format=raw")
        assert status == 200, f"GET {relative_url}?format=raw: HTTP {status}"
        return body

    def documents(self, module: str) -> list[dict]:
        """The property dicts of a module's documents."""
        return self.json("GET", module)["documents"]

    def stop(self) -> None:
        """Stops the server and waits for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path) -> Server:
    """Starts ``wendelin-server`` on a free loopback port."""
    command = [
        str(binary("wendelin-server")),
        "--listen", "127.0.0.1:0",
        "--data-dir", str(data_dir),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    url = _listening_url(process)
    threading.Thread(target=_drain, args=(process,), daemon=True).start()
    return Server(process, url, data_dir)


def _listening_url(process: subprocess.Popen) -> str:
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = LISTENING.search(line)
            if match:
                found.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=30)
    if not found:
        process.kill()
        raise AssertionError("wendelin-server printed no 'listening on' line within 30 s")
    return found[0]


def _drain(process: subprocess.Popen) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass


@pytest.fixture(scope="module")
def wendelin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server for the test module, stopped at its end."""
    server = start_server(tmp_path_factory.mktemp("wendelin-data"))
    yield server
    server.stop()


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[Server]:
    """A server for one test (which may stop it)."""
    server = start_server(tmp_path / "data")
    yield server
    server.stop()
