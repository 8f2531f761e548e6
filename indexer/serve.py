"""Datasette over a catalog, with modelcat's metadata (titles, facets, units, stored queries)."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from pathlib import Path

from .errors import CatalogError, ModelcatError
from .store import Catalog, on_read_only_storage

log = logging.getLogger("modelcat")

SETTINGS = {
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    # no facet suggestions: Datasette tries every column of every table page for them (about
    # 200 ms a page on 4,000 models, past every limit on a Hub-size catalog); the useful facets
    # are declared in schema/metadata.yml
    "suggest_facets": False,
    "default_page_size": 50,
    "allow_download": False,
}


def metadata_for(db_path: str | Path) -> dict:
    """The metadata for a catalog file (the plugin's, under the database name Datasette gives it:
    the file's stem)."""
    from .datasette_plugin.metadata import metadata_for_database

    return metadata_for_database(Path(db_path).stem)


def ensure_plugin() -> None:
    """modelcat's Datasette plugin, registered even where Datasette skipped entry points."""
    from datasette.plugins import pm

    from . import datasette_plugin

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="modelcat")


@functools.lru_cache(maxsize=1)
def _catalog_datasette():
    """Datasette, less a cost of its permission checks: each check of a table (the home page and the
    database page check every table, 83 checks a request) deep-copied the whole metadata, stored
    queries included (the home page on 2.3M models: 100 ms, half of it copying). A table's `allow`
    rules are computed once for the metadata sources they came from: the same objects (held, so no
    other takes their id) give the same rules; a plugin that hands out new metadata is asked again."""
    from datasette.app import Datasette

    class CatalogDatasette(Datasette):
        def _table_permission_allows(self, database, table):
            sources = tuple(self._metadata_sources("tables", database, None))
            kept = self.__dict__.setdefault("_modelcat_allows", {})
            found = kept.get((database, table))
            if found is None or len(found[0]) != len(sources) or any(a is not b for a, b in zip(found[0], sources)):
                found = kept[(database, table)] = (sources, super()._table_permission_allows(database, table))
            return list(found[1])

    return CatalogDatasette


def make_datasette(db_path: str | Path, settings: dict | None = None, *, immutable: bool = False):
    """A Datasette instance on the catalog (used by `modelcat serve` and by the tests);
    `settings` override Datasette settings of SETTINGS (e.g. sql_time_limit_ms). `immutable`: the
    file never changes while served (a published copy: indexer/publish.py)."""
    from .datasette_plugin.counted import CatalogDatabase

    Datasette = _catalog_datasette()
    ensure_plugin()
    settings = {**SETTINGS, **(settings or {})}

    # Fail with our clear errors (missing, corrupt, not a catalog, written by an older modelcat)
    # before Datasette's own.
    with Catalog.open(db_path, readonly=True, create=False) as cat:
        cat.require_current()
    if immutable or on_read_only_storage(Path(db_path)):  # a WAL file there cannot be opened as mutable
        ds = Datasette(immutables=[str(db_path)], metadata=metadata_for(db_path), settings=settings)
    else:
        ds = Datasette([str(db_path)], metadata=metadata_for(db_path), settings=settings)
    # the same file, as a CatalogDatabase: pages count their rows from the counts the store keeps
    [(name, plain)] = [(n, d) for n, d in ds.databases.items() if d.path]
    db = CatalogDatabase(ds, path=plain.path, is_mutable=plain.is_mutable)
    db.name, db.route = name, plain.route
    ds.databases = {**ds.databases, name: db}
    return ds


def check_port(host: str, port: int) -> None:
    """Fail with a clear message when the address cannot be listened on (uvicorn's is cryptic)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind((host, port))
    except OSError as e:
        raise ModelcatError(
            f"cannot listen on {host}:{port} ({e.strerror or e}): "
            "another server may be using it; pass --port with a free port (e.g. --port 8002)"
        ) from None


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, on_ready=None, *,
          published: bool = False) -> None:
    """Serve the catalog; with `published`, its published copy (indexer/publish.py), read-only,
    moving to each new copy as `modelcat publish` or `modelcat refresh --publish` lands it."""
    import asyncio

    import uvicorn

    if published:
        db_path = require_published(db_path)
    ds = make_datasette(db_path, immutable=published)
    check_port(host, port)
    asyncio.run(ds.invoke_startup())
    watcher = None
    if published:
        remove_stale_pins(Path(db_path).parent)
        swap_database(ds, Path(db_path)).close()  # served through a pin from the first request
        watcher = PublishedWatcher(ds, Path(db_path))
    if watcher:
        watcher.start()
    if on_ready:
        on_ready()
    try:
        uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")
    finally:
        if watcher:
            watcher.stop()
            unpin(Path(ds.databases[Path(db_path).stem].path))


def require_published(db_path: str | Path) -> Path:
    from .publish import published_path

    path = published_path(db_path)
    if not path.exists():
        raise CatalogError(f"no published copy of {db_path} at {path}: run `modelcat publish` "
                           "(or `modelcat refresh --publish`) first")
    return path


_PIN = ".serving-"


def pin(path: Path) -> Path:
    """A name of this server's own for the copy now at `path` (a hard link: no copy made), so that
    every connection the server opens later reads that copy, not whatever is renamed over `path`
    next. Where the folder cannot be written (read-only storage), the path itself."""
    try:
        ino = os.stat(path).st_ino
        pinned = path.with_name(f"{_PIN}{os.getpid()}-{ino}{path.suffix}")
        if not pinned.exists():
            os.link(path, pinned)
        return pinned if os.stat(pinned).st_ino == ino else path
    except OSError:
        return path


def unpin(path: Path) -> None:
    if path.name.startswith(_PIN):
        with contextlib.suppress(OSError):
            path.unlink()


def remove_stale_pins(folder: Path) -> None:
    """Pins left by servers that are gone (a crash, a kill)."""
    for p in folder.glob(f"{_PIN}*"):
        try:
            pid = int(p.name[len(_PIN):].split("-", 1)[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            unpin(p)
        except OSError:  # alive, another user's
            continue


def swap_database(ds, path: Path):
    """Serve the copy now at `path` (a new published copy) under the same name, through a pin of
    its own; returns the Database it replaces (still open: requests under way finish on it)."""
    pinned = pin(path)
    try:
        with Catalog.open(pinned, readonly=True, create=False) as cat:
            cat.require_current()
    except Exception:
        if pinned != path:
            unpin(pinned)
        raise
    name = path.stem
    old = ds.databases[name]
    db = _published_database(ds, pinned)
    db.name, db.route = name, old.route
    ds.databases = {**ds.databases, name: db}  # one assignment: a request sees the old or the new
    return old


def _published_database(ds, path: Path):
    """A Datasette Database on one published copy, whose connections are its own: Datasette keeps
    each executor thread's connection under the database's name, so a new copy served under the
    same name would go on reading the old file through them."""
    import asyncio
    import secrets

    from datasette.database import connections

    from .datasette_plugin.counted import CatalogDatabase

    class PublishedDatabase(CatalogDatabase):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            self._key = f"modelcat_published_{secrets.token_hex(8)}"

        async def execute_fn(self, fn):
            if self.ds.executor is None:
                return await super().execute_fn(fn)

            def in_thread():
                conn = getattr(connections, self._key, None)
                if not conn:
                    conn = self.connect()
                    self.ds._prepare_connection(conn, self.name)
                    setattr(connections, self._key, conn)
                return fn(conn)

            return await asyncio.get_event_loop().run_in_executor(self.ds.executor, in_thread)

    return PublishedDatabase(ds, path=str(path), is_mutable=False)


class PublishedWatcher(threading.Thread):
    """Watches a published copy; when a new one has been renamed over it, the server moves to it
    and closes the old one once the requests that had it can have finished (twice the SQL time
    limit), so its disk space comes back."""

    def __init__(self, ds, path: Path, interval: float = 2.0):
        super().__init__(name="modelcat-published", daemon=True)
        self.ds, self.path, self.interval = ds, path, interval
        self._stop_event = threading.Event()
        self._seen = self._stamp()

    def _stamp(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def check(self) -> bool:
        """One look: True when it moved to a new copy."""
        now = self._stamp()
        if now is None or now == self._seen:
            return False
        self._seen = now
        try:
            old = swap_database(self.ds, self.path)
        except Exception as e:  # a copy that is no catalog, or an old schema: keep serving the last good one
            log.error("not serving the new published copy %s: %s", self.path, e)
            return False
        grace = 2 * (self.ds.setting("sql_time_limit_ms") or 1000) / 1000

        def retire():
            old.close()
            if old.path and Path(old.path) != Path(self.ds.databases[self.path.stem].path):
                unpin(Path(old.path))

        timer = threading.Timer(grace, retire)
        timer.daemon = True
        timer.start()
        log.info("serving the catalog published at %s", time.strftime("%Y-%m-%d %H:%M:%S"))
        return True

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop_event.set()
