"""Retries for the requests-based clients (PyGithub, arxiv): what their own machinery leaves out.

PyGithub's GithubRetry (urllib3) retries 5xx, rate-limit 403s, connection errors and timeouts
before any answer; arxiv retries error statuses and connection errors, without waiting and without
a timeout. Neither retries an answer whose body is cut short (the connection closes mid-body:
requests raises ChunkedEncodingError after urllib3 is done), a body that is not what the status
says (a 200 with half a JSON document), a timeout in the middle of a body, nor honours Retry-After
on 429 (arxiv). `RetryingSession` is a requests.Session that adds exactly that, bounded, with
exponential backoff: the clients keep their own retries for everything else.

huggingface_hub's http_backoff already retries 429 (Retry-After / RateLimit headers), 5xx,
timeouts, resets and cut bodies; the hf source adds only the retry of a body that does not parse.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from typing import Callable, Iterable, Iterator, TypeVar

import requests

log = logging.getLogger("modelcat")
T = TypeVar("T")

TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)
MAX_WAIT = 60.0  # a Retry-After longer than this is not waited out: the answer goes to the caller


def retry_after(headers, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP-date), else None."""
    value = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, base: float, cap: float) -> float:
    """The wait before retry number `attempt` (1, 2, ...): base, 2*base, 4*base, ... up to cap."""
    return min(cap, base * (2 ** (attempt - 1)))


def json_problem(r: requests.Response) -> str | None:
    """What is wrong with a successful answer that says it is JSON but does not parse (a body
    cut short), else None."""
    if not (200 <= r.status_code < 300) or "json" not in (r.headers.get("Content-Type") or "").lower():
        return None
    try:
        json.loads(r.content)
    except ValueError:
        return "JSON that does not parse (a body cut short?)"
    return None


class UnreadableBody(requests.exceptions.ChunkedEncodingError):
    """A successful status whose body was cut short or unreadable, every time it was asked."""


class RetryingSession(requests.Session):
    """A requests.Session with a default timeout that retries, `retries` times at most:
    transport errors (resets, timeouts, bodies cut short), answers with a `body_problem`, and the
    `statuses` given (waiting what Retry-After asks, up to MAX_WAIT). After the last retry the
    error is raised, or the answer returned, to the client as it would have been; a body still
    unreadable raises UnreadableBody (never passed on as if it were whole)."""

    def __init__(self, *, timeout: float, retries: int = 4, base_wait: float = 1.0, max_wait: float = 16.0,
                 statuses: tuple[int, ...] = (),
                 body_problem: Callable[[requests.Response], str | None] | None = None,
                 name: str = "http"):
        super().__init__()
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.base_wait, self.max_wait = base_wait, max_wait
        self.statuses = tuple(statuses)
        self.body_problem = body_problem
        self.name = name
        self.retried = 0  # how many requests were sent again (reported by the sources)

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        attempt = 0
        while True:
            attempt += 1
            last = attempt > self.retries
            try:
                r = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as e:
                if last:
                    raise
                why, wait = f"{type(e).__name__}", backoff(attempt, self.base_wait, self.max_wait)
            else:
                if r.status_code in self.statuses:
                    asked = retry_after(r.headers)
                    if last or (asked is not None and asked > MAX_WAIT):
                        return r
                    why = f"HTTP {r.status_code}"
                    wait = asked if asked is not None else backoff(attempt, self.base_wait, self.max_wait)
                elif self.body_problem is not None and not kwargs.get("stream") and (problem := self.body_problem(r)):
                    if last:
                        raise UnreadableBody(f"the answer to {_short(url)} was {problem}, {attempt} times",
                                             response=r)
                    why, wait = problem, backoff(attempt, self.base_wait, self.max_wait)
                else:
                    return r
                r.close()
            self.retried += 1
            log.info("%s: %s for %s %s; retry %d/%d in %.1f s", self.name, why, method,
                     _short(url), attempt, self.retries, wait)
            time.sleep(wait)


def _short(url: str) -> str:
    return url if len(url) <= 160 else url[:157] + "..."


def json_object(r: requests.Response, service: str, what: str, retries: int, refused: str) -> dict:
    """The JSON object of an API's answer (after RetryingSession's retries), or the error a source
    raises: SourceUnavailable for 401/403 (`refused` says which credentials to set or check: the
    service is there, but not for us), SourceError for any other status or a body that is not a
    JSON object (the host answered its preflight: a bad night, not an offline machine)."""
    from ..errors import SourceError, SourceUnavailable

    if r.status_code in (401, 403):
        raise SourceUnavailable(f"{service} answered HTTP {r.status_code}: {refused}")
    if r.status_code != 200:
        raise SourceError(f"{service} answered HTTP {r.status_code} for {what}, {retries} retries later")
    try:
        body = r.json()
    except ValueError as e:
        raise SourceError(f"{service} answered {what} with JSON that does not parse") from e
    if not isinstance(body, dict):
        raise SourceError(f"{service} answered {what} with {type(body).__name__}, not an object")
    return body



def read_ahead(items: Iterable[T]) -> Iterator[T]:
    """`items` in order, each next one read in a background thread while the caller works on the one
    before: a listing's next page is on its way while this page's rows are written (the first
    import of the Hub waits on the network about a third of its time). One read at a time, so the
    underlying iterator is never run by two threads at once; its error, StopIteration aside,
    reaches the caller when the caller asks for the item that failed. A caller that stops early
    leaves the read in flight to a daemon thread: it is discarded, and never holds up exit."""
    it = iter(items)

    def ask() -> tuple[dict, threading.Event]:
        box: dict = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["item"] = next(it)
            except StopIteration:
                pass
            except BaseException as e:  # noqa: BLE001 (handed to the caller, raised there)
                box["error"] = e
            finally:
                done.set()

        threading.Thread(target=run, name="modelcat-read-ahead", daemon=True).start()
        return box, done

    pending = ask()
    while True:
        box, done = pending
        done.wait()
        if "error" in box:
            raise box["error"]
        if "item" not in box:
            return
        pending = ask()
        yield box["item"]
