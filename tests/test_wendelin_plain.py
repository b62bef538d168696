"""Against a server that answers only what a real Wendelin answers (a mock
of Zope's getters, HTML at the portal, 404 for our additions): navigation
falls back to the getters, and each call that needs one of
wendelin-server's additions fails with one line that says so."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support import kernel as k

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(120)]

GETTERS = {
    "getId": "1",
    "getPortalType": "Data Stream",
    "getReference": "plain-ref",
    "getTitle": "plain title",
    "getContentType": "application/octet-stream",
    "getSize": "10",
}


class PlainWendelin(BaseHTTPRequestHandler):
    """Zope's getters on data_stream_module/1; HTML at the portal; 404
    for everything else."""

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/erp5":
            return self.answer(200, "<html><body>ERP5</body></html>", "text/html")
        prefix = "/erp5/data_stream_module/1/"
        if path.startswith(prefix) and path[len(prefix):] in GETTERS:
            return self.answer(200, GETTERS[path[len(prefix):]])
        return self.answer(404, "not found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.answer(404, "not found")


@pytest.fixture
def plain_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), PlainWendelin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/erp5"
    server.shutdown()
    server.server_close()


def test_plain_wendelin_navigates_by_getters_and_names_missing_additions(plain_url):
    km, kc = k.start()
    try:
        reply, messages = k.execute(kc, f"%erp5_url {plain_url}\n%erp5_user u\n%erp5_password p")
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "without the module listing" in k.stream_text(messages)

        reply, messages = k.execute(kc, 'let s = context.data_stream_module["1"]; [s.reference, s.title, s.size]')
        assert reply["content"]["status"] == "ok", reply["content"]
        shown = k.of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"]
        assert shown == '["plain-ref", "plain title", 10]'

        reply, _ = k.execute(kc, 'context.data_array_module.create(#{reference: "x"}, [1.0, 2.0])')
        message = reply["content"]["evalue"]
        assert reply["content"]["status"] == "error"
        assert "wendelin-server" in message and "data_array_module/newContent" in message, message
        assert "\n" not in message.strip()
    finally:
        k.stop(km, kc)
