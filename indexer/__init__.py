"""modelcat: a catalog of pretrained models in SQLite.

    from indexer import refresh, Catalog, Query, search
    refresh("catalog.db", ["timm", "torchvision"])
    with Catalog.open("catalog.db", readonly=True) as cat:
        rows = search(cat, Query(task="image-classification", dataset="imagenet-1k",
                                 open_only=True, max_mb=100))
"""

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    CatalogError,
    ModelcatError,
    NotFound,
    RefreshLocked,
    SourceError,
    SourceUnavailable,
    UnknownSource,
)
from .refresh import SourceResult, refresh  # noqa: E402
from .search import Query, search  # noqa: E402
from .store import Catalog  # noqa: E402

__all__ = [
    "Catalog",
    "CatalogError",
    "ModelcatError",
    "NotFound",
    "Query",
    "RefreshLocked",
    "SourceError",
    "SourceResult",
    "SourceUnavailable",
    "UnknownSource",
    "__version__",
    "refresh",
    "search",
]
