"""Where things live: the schema folder, the default catalog, the cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_DB = "catalog.db"


def schema_dir() -> Path:
    """The `schema/` folder: beside the package in a checkout, under share/ in a wheel install."""
    here = Path(__file__).resolve().parent.parent / "schema"
    if here.is_dir():
        return here
    installed = Path(sys.prefix) / "share" / "modelcat" / "schema"
    if installed.is_dir():
        return installed
    raise FileNotFoundError(f"modelcat's schema folder is missing (looked in {here} and {installed})")


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
