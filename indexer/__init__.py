"""modelcat: a catalog of pretrained models in SQLite.

    from indexer import refresh, Catalog, Query, search
    refresh("catalog.db", ["timm", "torchvision"])
    with Catalog.open("catalog.db", readonly=True) as cat:
        rows = search(cat, Query(task="image-classification", dataset="imagenet-1k",
                                 open_only=True, max_mb=100))
"""

from .version import __version__  # noqa: E402

from .errors import (  # noqa: E402
    CatalogError,
    InstallError,
    ModelcatError,
    NotFound,
    RefreshLocked,
    SourceError,
    SourceUnavailable,
    UnknownSource,
)
try:
    from .refresh import SourceResult, refresh  # noqa: E402
    from .search import Query, search  # noqa: E402
    from .recommend import recommend  # noqa: E402
    from .store import Catalog  # noqa: E402
except InstallError as _e:  # a broken install: the `modelcat` command still starts, and says so in one line
    _install_error = _e

    def __getattr__(name: str):
        if name in ("SourceResult", "refresh", "Query", "search", "recommend", "Catalog"):
            raise _install_error
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Catalog",
    "CatalogError",
    "InstallError",
    "ModelcatError",
    "NotFound",
    "Query",
    "RefreshLocked",
    "SourceError",
    "SourceResult",
    "SourceUnavailable",
    "UnknownSource",
    "__version__",
    "recommend",
    "refresh",
    "search",
]
