"""Driving the kernel through jupyter_client: start it, run a cell and
collect every IOPub message of that request up to its ``idle``."""

from __future__ import annotations

import queue
import time
from typing import Any

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

KERNEL_NAME = "wendelin"


def start(**kwargs: Any) -> tuple[KernelManager, BlockingKernelClient]:
    """Starts the installed kernel and waits until it answers."""
    return start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=30, **kwargs)


def stop(km: KernelManager, kc: BlockingKernelClient) -> None:
    """Stops the client's channels and the kernel."""
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def outputs_until_idle(
    kc: BlockingKernelClient, msg_id: str, timeout: float = 60
) -> list[dict[str, Any]]:
    """IOPub messages whose parent is ``msg_id``, up to and including the
    ``idle`` status; raises if idle does not come within ``timeout`` s of
    silence."""
    messages = []
    while True:
        try:
            message = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no idle for {msg_id}; got {[m['msg_type'] for m in messages]}")
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages


def shell_reply(kc: BlockingKernelClient, msg_id: str, timeout: float = 60) -> dict[str, Any]:
    """The shell reply to ``msg_id``."""
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def execute(
    kc: BlockingKernelClient, code: str, timeout: float = 60, **kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Runs ``code``; returns the reply and the IOPub messages to idle."""
    msg_id = kc.execute(code, **kwargs)
    messages = outputs_until_idle(kc, msg_id, timeout)
    return shell_reply(kc, msg_id, timeout), messages


def stream_text(messages: list[dict[str, Any]], name: str = "stdout") -> str:
    """The concatenated text of the ``stream`` messages named ``name``."""
    return "".join(
        m["content"]["text"]
        for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == name
    )


def of_type(messages: list[dict[str, Any]], msg_type: str) -> list[dict[str, Any]]:
    """The messages of one type."""
    return [m for m in messages if m["msg_type"] == msg_type]
