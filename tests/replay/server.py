"""What every replay server shares: a quiet threaded HTTP server on 127.0.0.1, started and
stopped by a `with` block."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JSON_TYPE = "application/json; charset=utf-8"
_CHUNK = 1 << 20


def dumps_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class ReplayHTTPError(Exception):
    """Raised by a replay's _handle: answered as `status` with {"error": message} and `headers`."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, as the real services speak it; no request log on stderr."""

    protocol_version = "HTTP/1.1"
    # answers go out at once: with Nagle's algorithm, a keep-alive client's delayed ACK holds
    # every small answer back by ~40 ms
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # never print tracebacks to stderr
        pass


class LocalServer:
    """Base of the replays: `with Replay() as r:` serves on r.url (an ephemeral port, plus
    `url_path`). Subclasses give the handler class; the handler finds the replay as
    self.server.replay."""

    url_path = ""
    _server: QuietServer | None = None
    _thread: threading.Thread | None = None
    url = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def get_only_handler(self) -> type[BaseHTTPRequestHandler]:
        """A handler that answers GET with self._serve(handler), for replays of read-only APIs."""
        replay = self

        class H(QuietHandler):
            def do_GET(self):
                replay._serve(self)

        return H

    def start(self):
        if self._server is not None:
            return self
        server = QuietServer(("127.0.0.1", 0), self.handler())
        server.replay = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}{self.url_path}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}{server.server_address[1]}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class DispatchHandler(QuietHandler):
    """Every method goes to the replay's `_handle(method, path, headers, body)`, which returns
    (status, headers, body) or raises ReplayHTTPError. Connections are tracked, so that stop()
    can end keep-alive connections the client would otherwise keep being served on."""

    sys_version = ""
    timeout = 120  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.replay._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.replay._track(self.connection, False)

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body_in = self.rfile.read(length) if length > 0 else b""
        try:
            status, headers, body = self.server.replay._handle(method, self.path, self.headers, body_in)
        except ReplayHTTPError as e:
            status, headers, body = e.status, {"Content-Type": JSON_TYPE, **e.headers}, dumps_json({"error": e.message})
        except Exception as e:  # a bug here must not kill the connection silently
            status, headers, body = 500, {"Content-Type": JSON_TYPE}, dumps_json({"error": f"replay error: {e!r}"})
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD" and body:
                view = memoryview(body)
                for i in range(0, len(view), _CHUNK):
                    self.wfile.write(view[i:i + _CHUNK])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class TrackedServer(LocalServer):
    """A LocalServer whose stop() also ends open keep-alive connections (DispatchHandler)."""

    _lock: threading.RLock
    _conns: set

    def stop(self) -> None:
        running = self._server is not None
        super().stop()
        if not running:
            return
        with self._lock:
            conns = list(self._conns)
            self._conns.clear()
        for c in conns:  # keep-alive connections would otherwise go on being served
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _track(self, conn, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)


class JsonFaults:
    """For the replays of JSON APIs (ngc, kaggle): answers, and faults queued for the next requests
    (a status with its headers, or a 200 whose body is cut short). Needs self._lock and self._fail."""

    def fail_next(self, n: int, status: int = 503, headers: dict | None = None, body: bytes | None = None) -> None:
        """The next n requests answer `status` (or, with `body`, 200 and that body: a cut answer)."""
        with self._lock:
            self._fail.extend([(status, headers or {}, body)] * n)

    def _send(self, h, status: int, body: bytes, headers: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", JSON_TYPE)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _fault(self, h, error_body: bytes) -> bool:
        """Answer the next queued fault, if any (True)."""
        with self._lock:
            fail = self._fail.pop(0) if self._fail else None
        if fail is None:
            return False
        status, headers, body = fail
        self._send(h, 200, body) if body is not None else self._send(h, status, error_body, headers)
        return True

