"""Failures a data scientist can act on, each one clear line, with the
kernel alive and every variable intact afterwards: a missing magic, 404,
401, a document of the wrong type, a stream too large for data(), the
server gone; and a stream four times the reader's cache read with the
kernel's memory (VmRSS) staying bounded, with a progress display."""

from __future__ import annotations

import os
import time

import pytest

from support import kernel as k
from support.server import PASSWORD, USER, private_server, wendelin_server  # noqa: F401

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(300)]

MIB = 1 << 20


def error_of(kc, code):
    """The evalue of a cell that must fail."""
    reply, messages = k.execute(kc, code)
    assert reply["content"]["status"] == "error", (code, reply["content"])
    return reply["content"]["evalue"]


def result(kc, code, timeout=120):
    reply, messages = k.execute(kc, code, timeout=timeout)
    assert reply["content"]["status"] == "ok", (code, reply["content"])
    for m in k.of_type(messages, "execute_result"):
        return m["content"]["data"]["text/plain"], messages
    return None, messages


def connect(kc, server, password=PASSWORD):
    return k.execute(kc, f"%erp5_url {server.url}\n%erp5_user {USER}\n%erp5_password {password}")


@pytest.fixture
def kc():
    km, client = k.start()
    yield client
    k.stop(km, client)


def kernel_pid(km):
    return km.provisioner.process.pid


def vm_rss(pid, field="VmRSS"):
    """Resident memory (``VmRSS``) or its peak so far (``VmHWM``), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def test_server_needed_before_configuration_names_the_missing_magics(kc):
    message = error_of(kc, "context.data_stream_module")
    assert "%erp5_url" in message and "%erp5_user" in message and "%erp5_password" in message


def test_missing_document_gives_the_404_url(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    message = error_of(kc, 'context.data_stream_module["999"]')
    assert f"{wendelin_server.url}/data_stream_module/999" in message
    assert "404" in message and "\n" not in message.strip()


def test_wrong_password_gives_the_401_message(kc, wendelin_server):  # noqa: F811
    reply, messages = connect(kc, wendelin_server, password="pw-Wr0ng-7")
    assert reply["content"]["status"] == "error"
    assert "401" in reply["content"]["evalue"] and "pw-Wr0ng-7" not in reply["content"]["evalue"]
    message = error_of(kc, 'context.data_stream_module["1"]')
    assert "401" in message and wendelin_server.url in message


def test_wrong_document_type_is_named(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    wendelin_server.json("POST", "image_module/newContent", {"portal_type": "Image", "reference": "pic"})
    message = error_of(kc, 'BigFileReader(context.image_module.by_reference("pic"))')
    assert "Image" in message and "Data Stream" in message and "image_module" in message


def test_unknown_module_and_search_key_are_named(kc, wendelin_server):  # noqa: F811
    connect(kc, wendelin_server)
    assert "spam_module" in error_of(kc, 'context["spam_module"]')
    assert "colour" in error_of(kc, 'context.data_stream_module.search(#{colour: "red"})')


def test_server_gone_is_unreachable_and_the_kernel_keeps_its_variables(kc, private_server):  # noqa: F811
    connect(kc, private_server)
    private_server.create_stream("gone", b"0123456789")
    result(kc, 'let x = 41; let s = context.data_stream_module.by_reference("gone");')
    private_server.stop()
    message = error_of(kc, "s.read(0, 4)")
    assert private_server.url.split("/erp5")[0] in message
    message = error_of(kc, 'context.data_stream_module["1"]')
    assert private_server.url.split("/erp5")[0] in message
    text, _ = result(kc, "x + 1")
    assert text == "42"
    text, _ = result(kc, "s.size")
    assert text == "10"


def test_large_stream_reads_with_bounded_memory_progress_and_refused_data(wendelin_server):  # noqa: F811
    size = 96 * MIB
    block = os.urandom(MIB)
    payload = b"".join(block[i % 251:] + block[: i % 251] for i in range(96))
    document = wendelin_server.create_stream("big", payload, chunk=16 * MIB)
    del payload
    km, kc = k.start()
    try:
        connect(kc, wendelin_server)
        message = error_of(kc, 'context.data_stream_module.by_reference("big").data()')
        assert "BigFileReader" in message and str(size) in message.replace(",", "")

        result(kc, 'let r = BigFileReader(context.data_stream_module.by_reference("big"), #{cache: "16MiB"}); r.size')
        text, messages = result(kc, "let head = r.read(9000000); r.seek(0); head.len()")
        assert int(text) == 9000000
        shown = [m for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
        assert shown and "9,000,000 bytes" in shown[-1]["content"]["data"]["text/plain"]
        assert "skip" in error_of(kc, "r.read(20000000)")
        pid = kernel_pid(km)
        before = vm_rss(pid)
        text, messages = result(kc, "r.skip(-1)")
        peak = vm_rss(pid, "VmHWM")
        assert int(text) == size
        print(f"VmRSS {before / MIB:.1f} MiB, peak {peak / MIB:.1f} MiB reading {size // MIB} MiB")
        assert peak - before < 48 * MIB, f"peak VmRSS {(peak - before) / MIB:.1f} MiB above the start"
        summaries = [
            m["content"]["data"]["text/plain"]
            for m in messages
            if m["msg_type"] in ("display_data", "update_display_data")
        ]
        assert summaries and "MB/s" in summaries[-1] and f"{size:,}" in summaries[-1]
        assert document["relative_url"].startswith("data_stream_module/")
    finally:
        k.stop(km, kc)


def test_headless_run_takes_the_server_from_the_environment(wendelin_server):  # noqa: F811
    wendelin_server.create_stream("from-env", b"12345")
    env = dict(os.environ, WENDELIN_URL=wendelin_server.url, WENDELIN_USER=USER, WENDELIN_PASSWORD=PASSWORD)
    km, kc = k.start(env=env)
    try:
        text, _ = result(kc, 'context.data_stream_module.by_reference("from-env").size')
        assert text == "5"
    finally:
        k.stop(km, kc)


def test_interrupt_during_long_reads_keeps_the_reader_and_variables(wendelin_server):  # noqa: F811
    wendelin_server.create_stream("long", os.urandom(MIB) * 32, chunk=16 * MIB)
    km, kc = k.start()
    try:
        connect(kc, wendelin_server)
        result(kc, 'let n = 7; let r = BigFileReader(context.data_stream_module.by_reference("long"), #{cache: "1MiB"});')
        msg_id = kc.execute("let total = 0; loop { r.seek(0); total += r.skip(-1); }")
        time.sleep(1.0)
        km.interrupt_kernel()
        reply = k.shell_reply(kc, msg_id, timeout=30)
        assert reply["content"]["status"] == "error"
        text, _ = result(kc, "n + r.size")
        assert int(text) == 7 + 32 * MIB
    finally:
        k.stop(km, kc)


@pytest.fixture
def silent_url():
    """A loopback port that accepts connections and never answers."""
    import socket
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted = []
    stop = threading.Event()

    def hold():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                pass

    threading.Thread(target=hold, daemon=True).start()
    yield f"http://127.0.0.1:{silent.getsockname()[1]}/erp5"
    stop.set()
    silent.close()
    for connection in accepted:
        connection.close()


def test_a_server_that_never_answers_times_out_with_the_url(silent_url):
    url = silent_url
    km, kc = k.start(env=dict(os.environ, WENDELIN_TIMEOUT="1"))
    try:
        result(kc, "let kept = 3;")
        reply, _ = k.execute(kc, f"%erp5_url {url}\n%erp5_user {USER}\n%erp5_password {PASSWORD}")
        message = reply["content"]["evalue"]
        assert reply["content"]["status"] == "error"
        assert url in message and "did not answer within 1 s" in message, message
        text, _ = result(kc, "kept")
        assert text == "3"
    finally:
        k.stop(km, kc)


def test_interrupt_ends_a_wait_on_a_silent_server_at_once(silent_url):
    env = dict(os.environ, WENDELIN_URL=silent_url, WENDELIN_USER=USER,
               WENDELIN_PASSWORD=PASSWORD, WENDELIN_TIMEOUT="60")
    km, kc = k.start(env=env)
    try:
        result(kc, "let kept = 5;")
        msg_id = kc.execute('context.data_stream_module["1"]')
        time.sleep(0.5)
        km.interrupt_kernel()
        reply = k.shell_reply(kc, msg_id, timeout=10)
        assert reply["content"]["status"] == "error"
        assert "interrupted" in reply["content"]["evalue"]
        text, _ = result(kc, "kept")
        assert text == "5"
    finally:
        k.stop(km, kc)
