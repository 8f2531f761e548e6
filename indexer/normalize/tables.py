"""Loading the YAML data tables of `schema/`, once per process."""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from ..errors import ModelcatError
from ..paths import schema_dir


class SchemaTableError(ModelcatError):
    """A data table in schema/ is broken (a packaging or editing mistake): reinstall or fix it."""


_NOT_ALNUM = re.compile(r"[^0-9a-z+]+")


def loose_key(text: str) -> str:
    """The matching key of a spelling: lower case, letters, digits and '+' only.

    "Apache License 2.0" -> "apachelicense20"; "CC BY-NC 4.0" -> "ccbync40";
    "openrail++" keeps its pluses, since openrail and openrail++ are different licenses.
    """
    return _NOT_ALNUM.sub("", text.lower())


@functools.lru_cache(maxsize=None)
def load_table(name: str) -> dict[str, Any]:
    path = schema_dir() / f"{name}.yml"
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise SchemaTableError(f"{path} cannot be read: {e}".replace("\n", " ")) from e
    if not isinstance(data, dict):
        raise SchemaTableError(f"{path}: expected a mapping at the top level")
    return data


def build_index(entries: dict[str, dict], what: str) -> dict[str, str]:
    """Map the loose key of every id and alias to its id; an alias claimed twice is a table bug."""
    index: dict[str, str] = {}
    for ident, entry in entries.items():
        for spelling in [ident, *((entry or {}).get("aliases") or [])]:
            key = loose_key(str(spelling))
            if not key:
                continue
            if index.get(key, ident) != ident:
                raise SchemaTableError(
                    f"schema/{what}.yml: {spelling!r} names both {index[key]!r} and {ident!r}"
                )
            index[key] = ident
    return index
