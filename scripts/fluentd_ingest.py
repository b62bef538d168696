"""Sends a file to a Wendelin server the way fluentd's wendelin output does.

fluentd buffers events and flushes each buffer chunk as one HTTP POST to
`<url>/portal_ingestion_policies/<policy>/ingest?reference=<tag>`: the body
is the chunk itself, concatenated msgpack `[time, record]` frames with the
time as a fluentd EventTime (msgpack ext type 0: big-endian uint32 seconds,
uint32 nanoseconds), sent as application/octet-stream with HTTP Basic
authentication (wendelin-protocol.md §6).

Here each record is `{"data": <bytes>}` holding the next `--record-size`
bytes of the file, and records are grouped into POSTs of about
`--chunk-size` bytes, as a fluentd agent tailing a binary sensor output
would send them. The Data Stream the `default` policy appends to then holds
the frames unchanged; a reader opened with `#{format: "fluentd"}` gives back
the file's bytes.

    python scripts/fluentd_ingest.py FILE --url http://127.0.0.1:8080/erp5 \
        --tag speaker.positions --user zope --password insecure
"""

import argparse
import base64
import struct
import sys
import time
import urllib.error
import urllib.request

import msgpack


def event_time(seconds):
    whole = int(seconds)
    nanoseconds = int((seconds - whole) * 1e9)
    return msgpack.ExtType(0, struct.pack(">II", whole, nanoseconds))


def frames(path, record_size):
    with open(path, "rb") as source:
        while True:
            payload = source.read(record_size)
            if not payload:
                return
            yield msgpack.packb([event_time(time.time()), {"data": payload}], use_bin_type=True)


def buffer_chunks(path, record_size, chunk_size):
    pending = []
    pending_size = 0
    for frame in frames(path, record_size):
        pending.append(frame)
        pending_size += len(frame)
        if pending_size >= chunk_size:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)


def post(url, body, user, password):
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/octet-stream")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--url", default="http://127.0.0.1:8080/erp5", help="the portal's base URL")
    parser.add_argument("--policy", default="default", help="ingestion policy id")
    parser.add_argument("--tag", required=True, help="fluentd tag; its first segment names the Data Stream")
    parser.add_argument("--user", default="zope")
    parser.add_argument("--password", default="insecure")
    parser.add_argument("--record-size", type=int, default=64 * 1024, help="payload bytes per record")
    parser.add_argument("--chunk-size", type=int, default=1024 * 1024, help="bytes per POST")
    arguments = parser.parse_args()

    endpoint = f"{arguments.url.rstrip('/')}/portal_ingestion_policies/{arguments.policy}/ingest?reference={arguments.tag}"
    posts = 0
    sent = 0
    for body in buffer_chunks(arguments.file, arguments.record_size, arguments.chunk_size):
        try:
            status = post(endpoint, body, arguments.user, arguments.password)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace").strip()
            sys.exit(f"ingestion refused after {posts} chunks: HTTP {error.code} from {endpoint}: {detail}")
        except urllib.error.URLError as error:
            sys.exit(f"cannot reach {endpoint}: {error.reason}; is wendelin-server running?")
        if status not in (200, 204):
            sys.exit(f"unexpected HTTP {status} from {endpoint}")
        posts += 1
        sent += len(body)
    print(f"ingested {arguments.file} as {posts} fluentd chunks ({sent} bytes of msgpack frames) "
          f"into the Data Stream '{arguments.tag.split('.')[0]}'")


if __name__ == "__main__":
    main()
