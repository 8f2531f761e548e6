"""Where things live: the schema folder, the default catalog, the cache."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

DEFAULT_DB = "catalog.db"


def schema_dir() -> Path:
    """The `schema/` folder: beside the package in a checkout (and an editable install); in a wheel
    install, where the wheel's data files went: share/modelcat/schema under the environment
    (`pip install modelcat` in a virtual environment or as root) or under the user base
    (`pip install --user`)."""
    return _schema_dir()


@functools.lru_cache(maxsize=1)
def _schema_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "schema"
    candidates = [here] + [Path(base) / "share" / "modelcat" / "schema" for base in _data_roots()]
    for place in candidates:
        if (place / "migrations").is_dir():
            return place
    from .errors import InstallError

    raise InstallError(
        "modelcat's schema folder is missing (looked in " + ", ".join(str(p) for p in dict.fromkeys(candidates))
        + "): reinstall modelcat (pip install --force-reinstall modelcat, or pip install -e . in a checkout)")


def _data_roots() -> list[str]:
    """Where pip puts a wheel's data files: the environment's prefix, and the user base."""
    import site
    import sysconfig

    roots = [sysconfig.get_path("data"), sys.prefix]
    with contextlib.suppress(Exception):
        roots.append(site.getuserbase())
    return [r for r in dict.fromkeys(roots) if r]


def data_file(*parts: str) -> Path:
    """A file of the schema folder that must exist (a data table, the metadata): a missing one is
    an InstallError naming it and the fix, never a traceback."""
    path = schema_dir().joinpath(*parts)
    if not path.is_file():
        from .errors import InstallError

        raise InstallError(f"modelcat's data file {path} is missing: reinstall modelcat "
                           "(pip install --force-reinstall modelcat, or pip install -e . in a checkout)")
    return path


def default_db_path() -> Path:
    """`MODELCAT_DB` if set, else catalog.db in the working directory."""
    return Path(os.environ.get("MODELCAT_DB") or DEFAULT_DB)


def cache_dir() -> Path:
    """`MODELCAT_CACHE_DIR`, else $XDG_CACHE_HOME/modelcat, else ~/.cache/modelcat."""
    explicit = os.environ.get("MODELCAT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modelcat"
