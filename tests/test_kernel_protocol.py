"""The recurring kernel bugs of jupyter-protocol.md §5, one test each, plus
the request lifecycle: every request wrapped in busy/idle, errors with
their three fields, aborts after an error, comms, stdin."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import zmq
from jupyter_client.session import Session

from support.kernel import execute, of_type, outputs_until_idle, shell_reply, start, stop, stream_text

pytestmark = [pytest.mark.usefixtures("kernel_name"), pytest.mark.timeout(180)]


@pytest.fixture
def kernel():
    km, kc = start()
    yield km, kc
    stop(km, kc)


def statuses(messages):
    return [m["content"]["execution_state"] for m in of_type(messages, "status")]


# §5 #2: every output precedes idle, none lost
def test_thousand_prints_all_arrive_before_idle(kernel):
    _, kc = kernel
    reply, messages = execute(kc, "for i in 0..1000 { print(i); }")
    assert reply["content"]["status"] == "ok"
    assert messages[-1]["content"]["execution_state"] == "idle"
    assert stream_text(messages) == "".join(f"{i}\n" for i in range(1000))
    assert messages[0]["content"]["execution_state"] == "busy"


# §5 #3: status for non-execute requests too
@pytest.mark.parametrize(
    "send",
    [
        lambda kc: kc.kernel_info(),
        lambda kc: kc.complete("pri", 3),
        lambda kc: kc.inspect("sleep_ms", 2),
        lambda kc: kc.is_complete("fn f() {"),
        lambda kc: kc.history(hist_access_type="tail", n=1),
        lambda kc: kc.comm_info(),
    ],
    ids=["kernel_info", "complete", "inspect", "is_complete", "history", "comm_info"],
)
def test_every_request_is_wrapped_in_busy_and_idle(kernel, send):
    _, kc = kernel
    msg_id = send(kc)
    messages = outputs_until_idle(kc, msg_id, timeout=10)
    assert statuses(messages) == ["busy", "idle"]
    assert shell_reply(kc, msg_id, timeout=10)["content"]["status"] in ("ok", "incomplete")


def test_comm_open_to_unknown_target_is_closed(kernel):
    _, kc = kernel
    message = kc.session.msg("comm_open", {"comm_id": "c-1", "target_name": "nobody", "data": {}})
    kc.shell_channel.send(message)
    messages = outputs_until_idle(kc, message["header"]["msg_id"], timeout=10)
    closes = of_type(messages, "comm_close")
    assert [c["content"]["comm_id"] for c in closes] == ["c-1"]
    assert statuses(messages) == ["busy", "idle"]


# §5 #4: errors are detected with ename, evalue and a traceback
def test_error_reply_has_name_value_and_traceback_with_line(kernel):
    _, kc = kernel
    reply, messages = execute(kc, "let a = 1;\nlet b = a + nowhere;")
    content = reply["content"]
    assert content["status"] == "error"
    assert content["ename"] == "VariableNotFound"
    assert "nowhere" in content["evalue"]
    traceback = "\n".join(content["traceback"])
    assert "line 2, column 13" in traceback
    assert "let b = a + nowhere;" in traceback
    assert [m["content"]["ename"] for m in of_type(messages, "error")] == ["VariableNotFound"]


# §5 #10: no empty results, metadata always present
def test_unit_shows_nothing_and_every_display_has_metadata(kernel):
    _, kc = kernel
    _, messages = execute(kc, "let quiet = 1;")
    assert of_type(messages, "execute_result") == []
    _, messages = execute(kc, 'display(#{a: 1}); display("x", "id-1"); update_display("y", "id-1"); 5')
    outputs = [m for m in messages if m["msg_type"] in ("display_data", "update_display_data", "execute_result")]
    assert [m["msg_type"] for m in outputs] == ["display_data", "display_data", "update_display_data", "execute_result"]
    for message in outputs:
        assert isinstance(message["content"]["metadata"], dict)
        assert "text/plain" in message["content"]["data"]
    assert outputs[2]["content"]["transient"] == {"display_id": "id-1"}


def test_queued_executes_are_aborted_after_an_error(kernel):
    _, kc = kernel
    first = kc.execute('sleep_ms(300); throw "first fails"')
    second = kc.execute("let never = 1;")
    third = kc.execute("never")
    assert shell_reply(kc, first)["content"]["status"] == "error"
    for msg_id in (second, third):
        content = shell_reply(kc, msg_id)["content"]
        assert content["status"] == "error"
        assert content["ename"] == "ExecutionAborted"
    reply, _ = execute(kc, "is_def_var(\"never\")")
    assert reply["content"]["status"] == "ok"
    after, messages = execute(kc, "1 + 1")
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "2"


def test_silent_execution_sends_only_status(kernel):
    _, kc = kernel
    reply, messages = execute(kc, 'print("hidden"); 5', silent=True)
    assert reply["content"]["status"] == "ok"
    assert [m["msg_type"] for m in messages] == ["status", "status"]


def test_user_expressions_are_evaluated_after_the_cell(kernel):
    _, kc = kernel
    reply, _ = execute(kc, "let x = 20;", user_expressions={"double": "x * 2", "bad": "nope"})
    expressions = reply["content"]["user_expressions"]
    assert expressions["double"]["data"]["text/plain"] == "40"
    assert expressions["bad"]["status"] == "error"


def test_execution_count_counts_stored_executions(kernel):
    _, kc = kernel
    counts = [execute(kc, "1")[0]["content"]["execution_count"] for _ in range(3)]
    assert counts[1] == counts[0] + 1 and counts[2] == counts[1] + 1
    unstored, _ = execute(kc, "1", store_history=False)
    assert unstored["content"]["execution_count"] == counts[2]


# §5 #8: output floods
def test_fifty_megabytes_of_output_arrive_whole(kernel):
    _, kc = kernel
    code = 'let line = ""; for i in 0..1000 { line += "0123456789"; }\nfor i in 0..5000 { print(line); }'
    reply, messages = execute(kc, code, timeout=120)
    assert reply["content"]["status"] == "ok"
    text = stream_text(messages)
    assert len(text) == 5000 * 10001
    assert text == ("0123456789" * 1000 + "\n") * 5000
    assert execute(kc, "1 + 1")[0]["content"]["status"] == "ok"


def lcg_bytes(count: int, seed: int) -> bytes:
    """The documented noise: top byte of a 64-bit LCG, written here from
    the constants, independently of the kernel's code."""
    mask = (1 << 64) - 1
    state = seed
    out = bytearray(count)
    for i in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        out[i] = state >> 56
    return bytes(out)


def test_five_megabyte_image_arrives_whole(kernel):
    import base64
    import io

    from PIL import Image

    _, kc = kernel
    reply, messages = execute(kc, "noise_image(1300, 1300, 7)", timeout=120)
    assert reply["content"]["status"] == "ok"
    (result,) = of_type(messages, "execute_result")
    png = base64.b64decode(result["content"]["data"]["image/png"])
    assert len(png) > 5_000_000
    image = Image.open(io.BytesIO(png))
    assert image.size == (1300, 1300) and image.mode == "RGB"
    assert image.tobytes() == lcg_bytes(1300 * 1300 * 3, 7)
    assert result["content"]["metadata"]["image/png"] == {"width": 1300, "height": 1300}


# §5 #9: code points before the cursor
@pytest.mark.parametrize(
    "prefix",
    ["한국어 ", "𝐚𝐛 ", "e\u0301 ", "👩\u200d👩\u200d👧 ", ""],
    ids=["korean", "astral", "combining", "zwj-emoji", "ascii"],
)
def test_completion_offsets_are_code_points(kernel, prefix):
    _, kc = kernel
    execute(kc, "let wert = 1;")
    code = f'let s = "{prefix}"; wer'
    cursor = len(code)  # Python's len counts code points
    kc.complete(code, cursor)
    content = kc.get_shell_msg(timeout=10)["content"]
    assert content["matches"] == ["wert"]
    assert (content["cursor_start"], content["cursor_end"]) == (cursor - 3, cursor)


def test_inspect_after_astral_characters_finds_the_word(kernel):
    _, kc = kernel
    code = 'let s = "𝐚𝐛👩\u200d👧"; sleep_ms(1)'
    kc.inspect(code, code.index("sleep_ms") + 3)
    content = kc.get_shell_msg(timeout=10)["content"]
    assert content["found"] is True
    assert "sleep_ms(ms: i64)" in content["data"]["text/plain"]


# §5 #5: interrupts keep state
def run_and_interrupt(km, kc, code, interrupt):
    execute(kc, "let kept = 42;")
    msg_id = kc.execute(code)
    busy = outputs_until_first(kc, msg_id, "execute_input")
    assert busy
    time.sleep(0.5)
    interrupt(km)
    reply = shell_reply(kc, msg_id, timeout=30)
    content = reply["content"]
    assert content["status"] == "error"
    assert content["ename"] == "Interrupted"
    assert "interrupted" in content["evalue"]
    check, messages = execute(kc, "kept")
    assert check["content"]["status"] == "ok", check["content"]
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "42"


def outputs_until_first(kc, msg_id, msg_type):
    while True:
        message = kc.get_iopub_msg(timeout=10)
        if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == msg_type:
            return message


def test_interrupt_by_message_stops_a_script_loop(kernel):
    km, kc = kernel
    run_and_interrupt(km, kc, "let n = 0; loop { n += 1; }", lambda km: km.interrupt_kernel())


def test_interrupt_by_signal_stops_a_script_loop(kernel):
    km, kc = kernel
    pid = km.provisioner.process.pid
    run_and_interrupt(km, kc, "let n = 0; loop { n += 1; }", lambda km: os.kill(pid, signal.SIGINT))


def test_interrupt_stops_native_work(kernel):
    km, kc = kernel
    run_and_interrupt(km, kc, "busy_native(600000)", lambda km: km.interrupt_kernel())


def test_native_progress_updates_one_display_in_place(kernel):
    _, kc = kernel
    reply, messages = execute(kc, "busy_native(1200)")
    assert reply["content"]["status"] == "ok"
    shown = of_type(messages, "display_data")
    updates = of_type(messages, "update_display_data")
    assert len(shown) == 1 and updates
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert all(u["content"]["transient"]["display_id"] == display_id for u in updates)
    assert "rounds" in updates[-1]["content"]["data"]["text/plain"]


# §5 #7: heartbeat while a cell busy-loops
def test_heartbeat_answers_during_a_ten_second_busy_loop(kernel):
    km, kc = kernel
    info = km.get_connection_info()
    context = zmq.Context.instance()
    ping = context.socket(zmq.REQ)
    ping.setsockopt(zmq.LINGER, 0)
    ping.connect(f"tcp://{info['ip']}:{info['hb_port']}")
    msg_id = kc.execute("let t = timestamp(); let n = 0; while t.elapsed < 10.0 { n += 1; }")
    outputs_until_first(kc, msg_id, "execute_input")
    answered = 0
    try:
        for i in range(16):
            ping.send(f"ping {i}".encode())
            assert ping.poll(2000), f"heartbeat {i} unanswered during the busy loop"
            assert ping.recv() == f"ping {i}".encode()
            answered += 1
            time.sleep(0.5)
    finally:
        ping.close()
    assert answered == 16
    assert shell_reply(kc, msg_id, timeout=60)["content"]["status"] == "ok"


# §5 #12: restart rebinds the same ports
def test_restart_rebinds_the_same_ports(kernel):
    km, kc = kernel
    execute(kc, "let before_restart = 1;")
    ports = {k: v for k, v in km.get_connection_info().items() if k.endswith("_port")}
    old_pid = km.provisioner.process.pid
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=30)
    assert km.provisioner.process.pid != old_pid
    assert {k: v for k, v in km.get_connection_info().items() if k.endswith("_port")} == ports
    reply, _ = execute(kc, "is_def_var(\"before_restart\")")
    reply, messages = execute(kc, "40 + 2")
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_shutdown_request_ends_the_process(kernel):
    km, kc = kernel
    process = km.provisioner.process
    kc.shutdown()
    reply = kc.get_control_msg(timeout=10) if hasattr(kc, "get_control_msg") else None
    if reply is not None:
        assert reply["content"]["status"] == "ok"
    assert process.wait(timeout=10) == 0


def raw_socket(km, kind, channel):
    info = km.get_connection_info()
    socket = zmq.Context.instance().socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(f"tcp://{info['ip']}:{info[channel + '_port']}")
    return socket


# §5 #13: a client that vanishes mid-execute
def test_client_that_disconnects_mid_execute_does_not_hang_the_kernel(kernel):
    km, kc = kernel
    session = Session(key=km.session.key)
    for _ in range(3):
        dealer = raw_socket(km, zmq.DEALER, "shell")
        session.send(dealer, "execute_request", {"code": "sleep_ms(200); print(1); 7", "silent": False})
        dealer.close()
    time.sleep(1.0)
    reply, messages = execute(kc, "6 * 7")
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_unsigned_bad_and_malformed_messages_are_dropped(kernel):
    km, kc = kernel
    dealer = raw_socket(km, zmq.DEALER, "shell")
    unsigned = Session(key=b"")
    bad_key = Session(key=b"not-the-key")
    unsigned.send(dealer, "execute_request", {"code": 'print("unsigned ran")'})
    bad_key.send(dealer, "execute_request", {"code": 'print("forged ran")'})
    dealer.send_multipart([b"<IDS|MSG>", b"00"])
    dealer.send_multipart([b"garbage"])
    good = Session(key=km.session.key)
    message = good.msg("execute_request", {"code": "let replayed = 1;", "silent": False})
    frames = good.serialize(message)
    dealer.send_multipart(frames)
    dealer.send_multipart(frames)  # a replay
    assert dealer.poll(5000)
    replies = [dealer.recv_multipart()]
    while dealer.poll(500):
        replies.append(dealer.recv_multipart())
    dealer.close()
    assert len(replies) == 1, "only the one good message is answered"
    reply, messages = execute(kc, "1")
    assert reply["content"]["status"] == "ok"


# §5: a second frontend that subscribes to iopub and never reads
def test_stalled_subscriber_does_not_block_the_others(kernel):
    km, kc = kernel
    stalled = zmq.Context.instance().socket(zmq.SUB)
    stalled.setsockopt(zmq.RCVHWM, 1)
    stalled.setsockopt(zmq.RCVBUF, 4096)
    stalled.setsockopt(zmq.LINGER, 0)
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    info = km.get_connection_info()
    stalled.connect(f"tcp://{info['ip']}:{info['iopub_port']}")
    time.sleep(0.3)
    try:
        code = 'let line = ""; for i in 0..1000 { line += "abcdefghij"; }\nfor i in 0..2000 { print(line); }'
        reply, messages = execute(kc, code, timeout=120)
        assert reply["content"]["status"] == "ok"
        assert len(stream_text(messages)) == 2000 * 10001
        again, messages = execute(kc, '"still serving"')
        assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == '"still serving"'
    finally:
        stalled.close()


def test_slow_subscriber_loses_nothing(kernel):
    km, kc = kernel
    slow = zmq.Context.instance().socket(zmq.SUB)
    slow.setsockopt(zmq.RCVHWM, 2)
    slow.setsockopt(zmq.RCVBUF, 65536)
    slow.setsockopt(zmq.LINGER, 0)
    slow.setsockopt(zmq.SUBSCRIBE, b"")
    info = km.get_connection_info()
    slow.connect(f"tcp://{info['ip']}:{info['iopub_port']}")
    session = Session(key=km.session.key)
    try:
        assert slow.poll(5000), "no welcome"
        slow.recv_multipart()
        code = 'let line = ""; for i in 0..1000 { line += "ABCDEFGHIJ"; }\nfor i in 0..3000 { print(line); }'
        msg_id = kc.execute(code)
        text = []
        while True:
            assert slow.poll(30000), "the slow subscriber stopped receiving"
            frames = slow.recv_multipart()
            message = session.deserialize(frames[frames.index(b"<IDS|MSG>") + 1 :])
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                text.append(message["content"]["text"])
                time.sleep(0.05)  # a reader slower than the cell
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        assert "".join(text) == ("ABCDEFGHIJ" * 1000 + "\n") * 3000
        assert shell_reply(kc, msg_id)["content"]["status"] == "ok"
    finally:
        slow.close()


# §5 #11: input()
def test_input_without_stdin_fails_at_once(kernel):
    _, kc = kernel
    reply, _ = execute(kc, 'input("name? ")', allow_stdin=False)
    content = reply["content"]
    assert content["status"] == "error"
    assert "stdin" in content["evalue"]


def test_input_with_stdin_asks_the_frontend(kernel):
    _, kc = kernel
    prompts = []

    def answer(message):
        prompts.append(message["content"]["prompt"])
        kc.input("Ada")

    reply = kc.execute_interactive(
        'let name = input("name? "); "hello " + name', allow_stdin=True, stdin_hook=answer, timeout=30
    )
    assert reply["content"]["status"] == "ok"
    assert prompts == ["name? "]
    _, messages = execute(kc, "name")
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == '"Ada"'


# §5 #1: the welcome comes before anything else on a fresh subscription
def test_fresh_subscriber_gets_welcome_first(kernel):
    km, _ = kernel
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    info = km.get_connection_info()
    sub.connect(f"tcp://{info['ip']}:{info['iopub_port']}")
    try:
        assert sub.poll(5000)
        frames = sub.recv_multipart()
        message = Session(key=km.session.key).deserialize(frames[frames.index(b"<IDS|MSG>") + 1 :])
        assert message["msg_type"] == "iopub_welcome"
        assert message["content"] == {"subscription": ""}
    finally:
        sub.close()


def test_ipc_kernel_restarts_after_a_kill(tmp_path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="wendelin", transport="ipc", ip=str(tmp_path / "k"))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        process = km.provisioner.process
        process.kill()  # leaves its socket files behind
        process.wait()
        left = [p for p in tmp_path.iterdir() if p.name.startswith("k-")]
        assert len(left) == 5, left
        km.start_kernel()  # same connection file, no clean-up in between
        kc.wait_for_ready(timeout=30)
        _, messages = execute(kc, "2 + 3")
        assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "5"
    finally:
        stop(km, kc)


def test_ipc_transport_works(tmp_path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="wendelin", transport="ipc", ip=str(tmp_path / "kernel"))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply, messages = execute(kc, 'print("over ipc"); 1 + 2')
        assert stream_text(messages) == "over ipc\n"
        assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "3"
    finally:
        stop(km, kc)


def test_kernel_info_has_language_and_dates_with_zone(kernel):
    _, kc = kernel
    msg_id = kc.kernel_info()
    reply = shell_reply(kc, msg_id)
    info = reply["content"]
    assert info["language_info"]["name"] == "rhai"
    assert info["language_info"]["file_extension"] == ".rhai"
    assert info["implementation"] == "wendelin-kernel"
    assert reply["header"]["date"].tzinfo is not None


def test_magics_store_values_and_never_echo_the_password(kernel):
    _, kc = kernel
    reply, messages = execute(kc, "%erp5_url http://127.0.0.1:9/erp5\n%erp5_password s3cret-value")
    assert reply["content"]["status"] == "ok"
    text = stream_text(messages)
    assert "erp5_url = http://127.0.0.1:9/erp5" in text
    assert "s3cret-value" not in json.dumps([m["content"] for m in messages])
    unknown, _ = execute(kc, "%timeit 1")
    assert unknown["content"]["ename"] == "UnknownMagic"
    assert "%erp5_url" in unknown["content"]["evalue"]
