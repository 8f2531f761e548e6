"""Datasette over a catalog, with modelcat's metadata (titles, facets, units, stored queries)."""

from __future__ import annotations

import socket
from pathlib import Path

from .errors import ModelcatError
from .store import Catalog, on_read_only_storage

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


def make_datasette(db_path: str | Path, settings: dict | None = None):
    """A Datasette instance on the catalog (used by `modelcat serve` and by the tests);
    `settings` override Datasette settings of SETTINGS (e.g. sql_time_limit_ms)."""
    from datasette.app import Datasette

    ensure_plugin()
    settings = {**SETTINGS, **(settings or {})}

    # Fail with our clear errors (missing, corrupt, not a catalog, written by an older modelcat)
    # before Datasette's own.
    with Catalog.open(db_path, readonly=True, create=False) as cat:
        cat.require_current()
    if on_read_only_storage(Path(db_path)):  # a WAL file there cannot be opened as mutable
        return Datasette(immutables=[str(db_path)], metadata=metadata_for(db_path), settings=settings)
    return Datasette([str(db_path)], metadata=metadata_for(db_path), settings=settings)


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


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, on_ready=None) -> None:
    import asyncio

    import uvicorn

    ds = make_datasette(db_path)
    check_port(host, port)
    asyncio.run(ds.invoke_startup())
    if on_ready:
        on_ready()
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")
