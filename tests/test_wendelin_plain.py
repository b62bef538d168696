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


@pytest.fixture
def tls_url(tmp_path):
    """The same mock over HTTPS with a certificate for 127.0.0.1 signed by a
    throw-away CA; yields the URL and the CA certificate's path."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throw-away certificate")
    ca, ca_key = tmp_path / "ca.pem", tmp_path / "ca-key.pem"
    cert, key, request = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "cert.csr"
    extensions = tmp_path / "leaf.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n")
    for command in [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=suite CA",
         "-keyout", ca_key, "-out", ca],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", key, "-out", request],
        ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "1", "-extfile", extensions, "-out", cert],
    ]:
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), PlainWendelin)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/erp5", ca
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("trust", ["none", "bundle", "insecure"])
def test_https_needs_the_ca_bundle_or_an_explicit_insecure(tls_url, trust):
    import os

    url, cert = tls_url
    env = dict(os.environ)
    env.pop("WENDELIN_CA_BUNDLE", None)
    env.pop("WENDELIN_INSECURE", None)
    if trust == "bundle":
        env["WENDELIN_CA_BUNDLE"] = str(cert)
    if trust == "insecure":
        env["WENDELIN_INSECURE"] = "1"
    km, kc = k.start(env=env)
    try:
        reply, messages = k.execute(kc, f"%erp5_url {url}\n%erp5_user u\n%erp5_password p")
        if trust == "none":
            assert reply["content"]["status"] == "error"
            assert "WENDELIN_CA_BUNDLE" in reply["content"]["evalue"], reply["content"]["evalue"]
            return
        assert reply["content"]["status"] == "ok", reply["content"]
        assert f"connected to {url}" in k.stream_text(messages)
        warned = "not verified" in k.stream_text(messages, "stderr")
        assert warned == (trust == "insecure")
        reply, messages = k.execute(kc, 'context.data_stream_module["1"].reference')
        assert k.of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == '"plain-ref"'
    finally:
        k.stop(km, kc)
