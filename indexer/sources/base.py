"""The one protocol every source follows.

    fetch(ctx)      -> iterator of raw dicts (JSON-able, as close to the source as possible),
                       and, for long or incremental sources, two markers:
                         Checkpoint(state)  commit what was written so far together with this
                                            state (a cursor); a crash resumes from there
                         Seen(ids)          these catalog ids still exist, unchanged
    normalize(raw)  -> a record (ModelRecord, PaperRecord, RepoRecord) or a list of them,
                       or raise SkipRecord(reason)

Sources know their client library and nothing about SQL; refresh.py does the writing.
"""

from __future__ import annotations

import enum
import importlib.metadata
import json
import logging
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

from ..errors import SourceError, SourceUnavailable
from ..records import ModelRecord

Progress = Callable[[int, "int | None", str], None]


def _no_progress(done: int, total: int | None, message: str) -> None:
    pass


def _no_lookup(ids: list[str]) -> dict[str, dict]:
    return {}


@dataclass
class FetchContext:
    cache_dir: Path  # a folder the source may keep caches in (keyed by what they depend on)
    progress: Progress = _no_progress  # progress(done, total or None, what)
    config: dict[str, Any] = field(default_factory=dict)  # the source's settings
    state: dict[str, Any] = field(default_factory=dict)  # from earlier runs; saved when fetch ends
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("modelcat"))
    details: dict[str, Any] = field(default_factory=dict)  # what the source reports for the run row
    run_started: str = ""  # this run's catalog timestamp (rows seen now get it as last_seen)
    # what the catalog holds for some of this source's ids: {id: {"sha", "updated_at", "removed_at"}}
    lookup: Callable[[list[str]], dict[str, dict]] = _no_lookup
    # read-only questions about the catalog (papers to fetch, repositories with a hubconf, ...)
    catalog: Any = None
    # set by a source that has just listed everything it has: rows not seen since this catalog
    # timestamp are then marked removed (full_listing sources get it set for them)
    listed_all_since: str | None = None
    # need_space(bytes, what): a source about to start a big import asks first; raises LocalFault
    # (one line: needed, free, the fix) when the catalog's disk has less room
    need_space: Callable[[int, str], None] = lambda needed, what: None


@dataclass
class Checkpoint:
    """Yielded by fetch(): commit the records so far, and this state with them.

    The state is copied when the checkpoint is made: the writer commits it later (after the
    records before it, which a normalize worker may still be working on), while fetch() has run
    ahead and moved its own cursor on. Keeping a reference instead let a full disk lose a page
    for good: the state saved with page k said page k+1 was done (issue #31)."""

    state: dict[str, Any]

    def __post_init__(self) -> None:
        self.state = json.loads(json.dumps(self.state))  # the state as saved: JSON, and frozen now


@dataclass
class Seen:
    """Yielded by fetch(): these catalog ids still exist and have not changed."""

    ids: list[str]


class Source:
    name: ClassVar[str]
    needs_network: ClassVar[bool] = False
    # True: every fetch lists everything the source has, so rows it no longer lists are removed.
    full_listing: ClassVar[bool] = True
    # the settings a [name] section of modelcat.toml may hold: {key: (type, default, help)}
    settings: ClassVar[dict[str, tuple[type, Any, str]]] = {}
    # True: the source's first full load (no rows of it in the catalog yet) is big enough that the
    # catalog's secondary indexes are better built once at its end than row by row (the Hub)
    bulk_first_load: ClassVar[bool] = False
    # True: normalize() is a pure function of the raw item (no state that fetch() changes later),
    # so a big run may do it in a worker process while this one fetches and writes (pipeline.py)
    parallel_normalize: ClassVar[bool] = False
    # the installed distribution whose version is the source's version (its client library)
    package: ClassVar[str | None] = None

    def version(self) -> str | None:
        """Version of what is read (a library version); stored on runs and rows."""
        if self.package is None:
            return None
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return None

    def resolved_settings(self, ctx: FetchContext) -> dict[str, Any]:
        """The source's settings: what ctx.config gives, else the declared defaults."""
        return {k: ctx.config.get(k, default) for k, (_, default, _) in self.settings.items()}

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        raise NotImplementedError

    def normalize(self, raw: dict) -> ModelRecord:
        raise NotImplementedError

    def normalizer(self, ctx: FetchContext) -> Callable[[dict], Any]:
        """What a run normalizes with: normalize() with everything it depends on bound in from the
        run's settings (a picklable callable: the normalize worker gets it when it starts)."""
        return self.normalize


# ---------------------------------------------------------------------- helpers for sources
def preflight(url: str, service: str, env_var: str) -> None:
    """Fail at once and clearly, before any retries, when `url` is not an http(s) URL
    (SourceError) or its host does not resolve, as when there is no network (SourceUnavailable)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"the address of {service} {url!r} is not an http(s) URL: fix {env_var}")
    try:
        socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as e:
        raise SourceUnavailable(
            f"cannot reach {service} at {url} ({getattr(e, 'strerror', e)}): check the network, "
            f"or set {env_var} to a reachable address"
        ) from None


def jsonable(value: Any) -> Any:
    """Library objects -> plain JSON data for raw records (tuples become lists; enums their value
    when it is plain, else Class.MEMBER; anything else its str)."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        if isinstance(value.value, (str, int, float)):
            return value.value
        return f"{type(value).__name__}.{value.name}"
    return str(value)


def days_since(stamp: str | None) -> float:
    """Days since a catalog timestamp (a source's last full sweep); infinite when there is none."""
    import datetime

    if not stamp:
        return float("inf")
    try:
        then = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    now = datetime.datetime.now(datetime.timezone.utc)
    # catalog stamps are strictly increasing (store.utcnow), so they can run a few ms ahead of the clock
    return max(0.0, (now - then).total_seconds() / 86400)


_WORD = re.compile(r"[a-z]+")


def family_words(name: str) -> list[str]:
    """Search words for an architecture name: the leading letters of each '_' token, 3+ long
    ("resnet50d" -> "resnet", "vit_base_patch16_224" -> "vit", "base", "patch")."""
    words = []
    for token in name.lower().split("_"):
        m = _WORD.match(token)
        if m and len(m.group(0)) > 2 and m.group(0) not in words:
            words.append(m.group(0))
    return words


def sweep_settings(where: str) -> dict:
    """The settings of a source that reads an API newest first between full sweeps (ngc, kaggle)."""
    return {
        "full_sweep_days": (float, 7.0, f"how often a run reads every page, finding the models {where} removed"),
        "full": (bool, False, "this run: a full sweep, even when an incremental one would do"),
        "timeout": (float, 30.0, "seconds to wait for an answer"),
        "retries": (int, 4, "how often a request that failed (429, 5xx, reset, cut answer) is sent again"),
    }

