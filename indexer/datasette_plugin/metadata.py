"""The catalog's Datasette metadata (titles, descriptions, facets, units, stored queries:
schema/metadata.yml), for a database of a given name. The plugin serves it to any Datasette that
opens a catalog; `modelcat serve` passes it to its own."""

from __future__ import annotations

import copy
import functools

import yaml

from ..paths import data_file


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    with open(data_file("metadata.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def metadata_for_database(name: str) -> dict:
    """The metadata, with the database section under the catalog database's name."""
    meta = copy.deepcopy(_template())
    meta.pop("modelcat_labels", None)  # ours, not Datasette's
    meta.pop("modelcat_shown_columns", None)
    meta["databases"] = {name: meta["databases"]["__catalog__"]}
    # a stored query's page opens with its answer; its SQL is one click away (Show SQL)
    for query in (meta["databases"][name].get("queries") or {}).values():
        query.setdefault("hide_sql", True)
    meta["description_html"] = meta["description_html"].replace("{db}", name)
    return meta


def labels() -> dict:
    """{"columns": {column: label}, "parameters": {name: label}, "values": {column: {value: label}}}
    from schema/metadata.yml's
    modelcat_labels: the words the pages show, in one place."""
    found = _template().get("modelcat_labels") or {}
    return {"columns": dict(found.get("columns") or {}),
            "parameters": dict(found.get("parameters") or {}),
            "values": {c: {str(k): v for k, v in (m or {}).items()} for c, m in (found.get("values") or {}).items()}}


def shown_columns() -> dict[str, list[str]]:
    """{table, view or stored query: the columns its page shows first} from schema/metadata.yml's
    modelcat_shown_columns."""
    return {name: list(cols) for name, cols in (_template().get("modelcat_shown_columns") or {}).items()}
