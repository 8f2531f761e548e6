"""Pure normalizers, driven by the data tables in `schema/`.

Every function takes the raw value a source gave and returns the normalized value; callers keep
the raw value beside it. No I/O beyond reading the tables once.
"""

from .arxiv import arxiv_ids
from .dataset import DatasetRef, canonical_dataset, datasets_from_tokens
from .license import License, normalize_license
from .metric import canonical_metric
from .size import bytes_from_mib, estimate_bytes
from .task import normalize_task

__all__ = [
    "DatasetRef",
    "License",
    "arxiv_ids",
    "bytes_from_mib",
    "canonical_dataset",
    "canonical_metric",
    "datasets_from_tokens",
    "estimate_bytes",
    "normalize_license",
    "normalize_task",
]
