"""Oversize and deeply nested bodies are refused before they cost memory."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

from tests.faults.conftest import Tenant

MIB = 1024 * 1024
CHUNK = b"[" + b"1," * (MIB // 2 - 1)


def _peak_rss_kib(pid: int) -> int:
    """The process's high-water mark of resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def _send_chunked(port: int, api_key: str, total: int) -> bytes:
    """Stream ``total`` bytes as a chunked body; stop when the server hangs up."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /signals HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    try:
        sock.sendall(head.encode())
        sent = 0
        while sent < total:
            sock.sendall(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
            sent += len(CHUNK)
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    try:
        return sock.recv(4096)
    except OSError:
        return b""
    finally:
        sock.close()


def test_fifty_mib_chunked_body_is_refused_without_buffering(tenant: Tenant) -> None:
    """A 50 MiB chunked body gets 413 and the gateway's peak RSS grows < 10 MiB."""
    pipeline = tenant.stack.pipeline
    gateway = pipeline.processes["gateway"][0]
    before = _peak_rss_kib(gateway.pid)

    answer = _send_chunked(pipeline.port, tenant.api_key, 50 * MIB)
    growth_mib = (_peak_rss_kib(gateway.pid) - before) / 1024

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert growth_mib < 10, growth_mib


def test_deeply_nested_body_is_refused(tenant: Tenant) -> None:
    """A 200,000-deep array is a 400 or 413 naming the problem, never a 500."""
    pipeline = tenant.stack.pipeline
    body = b'{"context": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    request = urllib.request.Request(
        f"{pipeline.url}/signals",
        data=body,
        headers={
            "Authorization": f"Bearer {tenant.api_key}",
            "Content-Type": "application/json",
        },
    )

    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, document = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        status, document = error.code, json.loads(error.read())

    assert status in (400, 413), document
    assert document["error"]["code"]
