"""A fault-injecting HTTP proxy in front of any replay: the real world's bad nights, on demand.

    with HubReplay(models) as hub, FaultProxy(hub, seed=3, rate=0.2) as faulty:
        ...point the client at faulty.url...

For a seeded random `rate` of requests, instead of the replay's answer the client gets one of:

    429       Too Many Requests, with Retry-After: `retry_after` seconds
    500, 503  a JSON error body
    stall     nothing at all for `stall` seconds (past the client's timeout), then the connection ends
    reset     the connection is reset (RST) before any answer
    truncate  the replay's answer with its full Content-Length, cut off halfway: the connection closes
    garbage   the replay's 200 cut in half with a matching Content-Length: valid HTTP, broken JSON/XML

Whether a request is faulted depends only on (seed, method, path and query, how many times that
request was made), never on timing or thread order, so a seed replays the same night. A request
is faulted at most `max_consecutive` times in a row: the faults are transient, as the issue's
"retried with backoff and a bound" assumes; a permanent outage is the replays' own fail_next().

`latency` delays every answer (a slow network; with rate=0, the proxy only slows things down).
The proxy rewrites the replay's origin to its own in headers (Link, Location) and bodies, so
paginated and follow-up URLs come back through it.
"""

from __future__ import annotations

import collections
import http.client
import random
import socket
import struct
import threading
from urllib.parse import urlsplit

from .server import JSON_TYPE, LocalServer, QuietHandler, dumps_json

KINDS = ("429", "500", "503", "stall", "reset", "truncate", "garbage")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


class FaultProxy(LocalServer):
    def __init__(self, upstream, *, seed: int, rate: float = 0.2, kinds=KINDS, stall: float = 1.0,
                 retry_after: int = 13, max_consecutive: int = 2, latency: float = 0.0):
        self.upstream = upstream
        self.seed, self.rate, self.kinds = seed, rate, tuple(kinds)
        self.stall, self.retry_after, self.max_consecutive = stall, retry_after, max_consecutive
        self.latency = latency  # every answer waits this long first (a slow network)
        self.log: list[tuple[str, str, int, str | None]] = []  # (method, path, attempt, fault or None)
        self._attempts: collections.Counter = collections.Counter()
        self._streak: collections.Counter = collections.Counter()
        self._lock = threading.Lock()

    def start(self):
        if self._server is not None:
            return self
        up = urlsplit(self.upstream.url)
        self.url_path = up.path.rstrip("/") if up.path not in ("", "/") else ""
        super().start()
        self.origin = self.url[: len(self.url) - len(self.url_path)] if self.url_path else self.url
        self.up_origin = f"{up.scheme}://{up.netloc}"
        self._up_host, self._up_port = up.hostname, up.port
        return self

    # ------------------------------------------------------------------ what happened
    def faults(self) -> collections.Counter:
        return collections.Counter(kind for *_, kind in self.log if kind)

    def requests(self) -> int:
        return len(self.log)

    # ------------------------------------------------------------------ deciding
    def _decide(self, key: str) -> tuple[int, str | None]:
        with self._lock:
            self._attempts[key] += 1
            attempt = self._attempts[key]
            rng = random.Random(f"{self.seed}|{key}|{attempt}")
            kind = None
            if self._streak[key] < self.max_consecutive and rng.random() < self.rate:
                kind = rng.choice(self.kinds)
            self._streak[key] = self._streak[key] + 1 if kind else 0
            return attempt, kind

    # ------------------------------------------------------------------ serving
    def handler(self):
        proxy = self

        class H(QuietHandler):
            timeout = 60

            def do_GET(self):
                proxy._serve(self, "GET")

            def do_HEAD(self):
                proxy._serve(self, "HEAD")

            def do_POST(self):
                proxy._serve(self, "POST")

        return H

    def _serve(self, h: QuietHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body_in = h.rfile.read(length) if length > 0 else b""
        key = f"{method} {h.path}"
        attempt, kind = self._decide(key)
        if self.latency:
            threading.Event().wait(self.latency)
        if kind in ("stall", "reset"):
            self.log.append((method, h.path, attempt, kind))
            if kind == "stall":
                threading.Event().wait(self.stall)
                _close(h, reset=False)
            else:
                _close(h, reset=True)
            return
        if kind in ("429", "500", "503"):
            self.log.append((method, h.path, attempt, kind))
            extra = {"Retry-After": str(self.retry_after)} if kind == "429" else {}
            _send(h, int(kind), {"Content-Type": JSON_TYPE, **extra},
                  dumps_json({"error": f"injected {kind}"}), method)
            return
        status, headers, body = self._forward(h, method, body_in)
        if kind in ("truncate", "garbage") and (method == "HEAD" or status != 200 or len(body) < 2):
            kind = "503"  # nothing to cut: the request still gets its fault
            self.log.append((method, h.path, attempt, kind))
            _send(h, 503, {"Content-Type": JSON_TYPE}, dumps_json({"error": "injected 503"}), method)
            return
        self.log.append((method, h.path, attempt, kind))
        if kind == "garbage":
            _send(h, status, headers, body[: len(body) // 2], method)
        elif kind == "truncate":
            _send(h, status, headers, body, method, cut=len(body) // 2)
            _close(h, reset=False)
        else:
            _send(h, status, headers, body, method)

    def _forward(self, h: QuietHandler, method: str, body: bytes) -> tuple[int, list, bytes]:
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP and k.lower() not in ("host", "accept-encoding")}
        headers["Host"] = f"{self._up_host}:{self._up_port}"
        conn = http.client.HTTPConnection(self._up_host, self._up_port, timeout=60)
        try:
            conn.request(method, h.path, body=body or None, headers=headers)
            r = conn.getresponse()
            data = r.read()
            out = [(k, v.replace(self.up_origin, self.origin)) for k, v in r.getheaders() if k.lower() not in _HOP]
            return r.status, out, data.replace(self.up_origin.encode(), self.origin.encode())
        finally:
            conn.close()


def _send(h: QuietHandler, status: int, headers, body: bytes, method: str, cut: int | None = None) -> None:
    try:
        h.send_response(status)
        for k, v in (headers.items() if isinstance(headers, dict) else headers):
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(body if cut is None else body[:cut])
        h.wfile.flush()
    except OSError:
        h.close_connection = True


def _close(h: QuietHandler, *, reset: bool) -> None:
    """End the connection: a reset (RST, SO_LINGER 0) or an ordinary close."""
    h.close_connection = True
    try:
        if reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            h.connection.shutdown(socket.SHUT_RDWR)
        h.connection.close()
    except OSError:
        pass
