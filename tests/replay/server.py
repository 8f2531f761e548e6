"""What every replay server shares: a quiet threaded HTTP server on 127.0.0.1, started and
stopped by a `with` block."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, as the real services speak it; no request log on stderr."""

    protocol_version = "HTTP/1.1"

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
