"""The catalog database. The only package that writes SQL: sources hand it records and never
know where they go; pages and the CLI read what it maintains.

    catalog.py  opening a catalog safely, transactions and checkpoints, source state, runs;
                `Catalog` gathers the three below
    schema.py   migrations, views, the indexes a first load defers and rebuilds
    reads.py    a row with its links, what a source already holds, what sources ask of it
    checks.py   `modelcat check`: SQLite's checks and the catalog's invariants
    rows.py     records as rows (pure: the Hub's normalize worker prepares them), cell caps, digests
    writer.py   writing one source's records in batches

The refresh lock (one refresh per catalog) lives with the refresh, in indexer/refresh.py.
"""

from .catalog import SQLITE_HEADER, Catalog, check_location, on_read_only_storage
from .checks import CheckResult
from .reads import CatalogView
from .rows import (
    MODEL_COLUMNS,
    PAPER_COLUMNS,
    REPO_COLUMNS,
    SPEED_COLUMNS,
    PreparedModel,
    cap_text,
    cell_caps,
    prepare_model,
    record_digest,
    row_values,
    utcnow,
)
from .writer import SourceWriter, WriteCounts

__all__ = [
    "Catalog", "CatalogView", "CheckResult", "SourceWriter", "WriteCounts", "PreparedModel", "prepare_model",
    "MODEL_COLUMNS", "PAPER_COLUMNS", "REPO_COLUMNS", "SPEED_COLUMNS", "SQLITE_HEADER", "cap_text", "cell_caps",
    "check_location", "on_read_only_storage", "record_digest", "row_values", "utcnow",
]
