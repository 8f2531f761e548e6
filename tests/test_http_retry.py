"""indexer/sources/http.py: the retries the requests-based clients (PyGithub, arxiv) lack, against
a local server that answers from a script."""

from __future__ import annotations

import email.utils
import socket
import struct
import time

import pytest
import requests

from indexer.sources.http import MAX_WAIT, RetryingSession, UnreadableBody, backoff, json_problem, retry_after
from replay.server import LocalServer, QuietHandler

JSON = {"Content-Type": "application/json"}


class Scripted(LocalServer):
    """Answers each request with the next (status, headers, body) of `script`; "reset" resets the
    connection instead."""

    def __init__(self, *script):
        self.script, self.hits = list(script), 0

    def handler(self):
        server = self

        class H(QuietHandler):
            def do_GET(self):
                server.hits += 1
                step = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                if step == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                status, headers, body = step
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return H


@pytest.fixture
def waits(monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def test_retry_after_reads_seconds_and_http_dates():
    now = 1_800_000_000.0
    assert retry_after({"Retry-After": "120"}) == 120
    assert retry_after({"Retry-After": email.utils.formatdate(now + 30, usegmt=True)}, now=now) == pytest.approx(30)
    assert retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0
    for value in ("", "soon", "-5", "1.5"):
        assert retry_after({"Retry-After": value}) is None
    assert retry_after({}) is None and retry_after(None) is None


def test_backoff_doubles_up_to_its_cap():
    assert [backoff(n, 1.0, 8.0) for n in range(1, 6)] == [1, 2, 4, 8, 8]


def test_a_status_is_retried_after_what_retry_after_asks(waits):
    with Scripted((503, {"Retry-After": "2"}, b"busy"), (200, JSON, b'{"ok": 1}')) as s:
        r = RetryingSession(timeout=5, retries=3, statuses=(503,)).get(s.url + "/x")
    assert r.json() == {"ok": 1} and s.hits == 2 and waits == [2]


def test_a_retry_after_beyond_the_longest_wait_goes_to_the_client_at_once(waits):
    with Scripted((429, {"Retry-After": str(int(MAX_WAIT) + 1)}, b"later")) as s:
        r = RetryingSession(timeout=5, retries=3, statuses=(429,)).get(s.url + "/x")
    assert r.status_code == 429 and s.hits == 1 and waits == []


def test_the_last_status_is_returned_as_the_client_would_have_had_it(waits):
    with Scripted((500, {}, b"down")) as s:
        r = RetryingSession(timeout=5, retries=2, statuses=(500,)).get(s.url + "/x")
    assert r.status_code == 500 and s.hits == 3 and waits == [1.0, 2.0]


def test_statuses_not_named_are_left_to_the_client(waits):
    with Scripted((503, {}, b"down")) as s:
        r = RetryingSession(timeout=5, retries=2).get(s.url + "/x")
    assert r.status_code == 503 and s.hits == 1


def test_a_reset_connection_is_retried(waits):
    with Scripted("reset", (200, JSON, b"[]")) as s:
        r = RetryingSession(timeout=5, retries=2).get(s.url + "/x")
    assert r.json() == [] and s.hits == 2 and waits == [1.0]


def test_half_a_json_document_is_asked_again_then_raised(waits):
    with Scripted((200, JSON, b'{"items": [1, 2')) as s:
        session = RetryingSession(timeout=5, retries=2, body_problem=json_problem, name="t")
        with pytest.raises(UnreadableBody, match="JSON that does not parse.*3 times"):
            session.get(s.url + "/x")
    assert s.hits == 3 and session.retried == 2
    with Scripted((200, JSON, b'{"items": [1, 2'), (200, JSON, b'{"items": [1, 2]}')) as s:
        assert RetryingSession(timeout=5, retries=2, body_problem=json_problem).get(s.url + "/x").json() == {
            "items": [1, 2]}


def test_json_problem_judges_only_successful_json_answers():
    def answer(status, ctype, body):
        r = requests.Response()
        r.status_code, r._content = status, body
        r.headers["Content-Type"] = ctype
        return r

    assert json_problem(answer(200, "application/json; charset=utf-8", b'{"a": 1}')) is None
    assert json_problem(answer(200, "application/json", b'{"a": ')) is not None
    assert json_problem(answer(404, "application/json", b"<html>")) is None  # the client reads errors itself
    assert json_problem(answer(200, "text/html", b"<html>")) is None


def test_a_stall_past_the_timeout_is_retried(waits):
    """The server accepts and says nothing: the session's own timeout ends the wait."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        session = RetryingSession(timeout=0.2, retries=1)
        with pytest.raises(requests.ReadTimeout):
            session.get(f"http://127.0.0.1:{listener.getsockname()[1]}/x")
        assert session.retried == 1
    finally:
        listener.close()


# ---------------------------------------------------------------------- read_ahead
def test_read_ahead_reads_the_next_item_while_the_caller_works_on_this_one():
    import threading

    from indexer.sources.http import read_ahead

    asked = []
    second_asked = threading.Event()

    def pages():
        for i in range(4):
            asked.append(i)
            if i == 1:
                second_asked.set()
            yield i

    got = []
    for item in read_ahead(pages()):
        if item == 0:  # the caller still holds the first: the second is already being read
            assert second_asked.wait(5)
        got.append(item)
    assert got == [0, 1, 2, 3] and asked == [0, 1, 2, 3]
    assert list(read_ahead([])) == []


def test_read_aheads_error_comes_when_the_caller_asks_for_the_item_that_failed():
    from indexer.sources.http import read_ahead

    def pages():
        yield "page 1"
        yield "page 2"
        raise requests.ConnectionError("page 3: connection reset")

    got = []
    with pytest.raises(requests.ConnectionError, match="page 3"):
        for item in read_ahead(pages()):
            got.append(item)  # (a checkpoint after each page commits it before the error is seen)
    assert got == ["page 1", "page 2"]


def test_a_caller_that_stops_early_is_not_held_up_by_the_read_in_flight():
    import threading

    from indexer.sources.http import read_ahead

    release = threading.Event()

    def pages():
        yield 1
        release.wait(30)  # a slow next page (a Hub retrying with backoff)
        yield 2

    started = time.monotonic()
    it = read_ahead(pages())
    assert next(it) == 1
    it.close()
    assert time.monotonic() - started < 5
    release.set()
