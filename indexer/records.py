"""What sources produce: plain dataclasses, no SQL, no HTTP."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DatasetLink:
    dataset_id: str  # canonical id (schema/datasets.yml)
    role: str  # train | pretrain | finetune
    raw: str  # the spelling the source used


@dataclass
class Metric:
    dataset_raw: str  # as the source names the evaluation set ("ImageNet-1K", "COCO-val2017")
    metric_raw: str  # as the source names the metric ("acc@1")
    value: float
    dataset_id: str | None = None  # canonical, when the dataset table knows it
    metric: str = ""  # canonical ("top1")


@dataclass
class PaperLink:
    paper_id: str  # "arxiv:2010.11929"
    raw: str  # as the source gave it


@dataclass
class ModelRecord:
    """One catalog row and the rows that hang off it. Field names are the `models` columns."""

    id: str
    source: str
    name: str
    author: str | None = None
    task: str | None = None
    task_raw: str | None = None
    library: str | None = None
    license: str = "unknown"
    license_raw: str | None = None
    license_family: str = "unknown"
    is_open: bool = False
    num_params: int | None = None
    size_bytes: int | None = None
    size_is_estimate: bool | None = None
    url: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    architecture: str | None = None
    weights: str | None = None
    hf_hub_id: str | None = None
    input_size: list[int] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    crop_pct: float | None = None
    interpolation: str | None = None
    num_classes: int | None = None
    classifier: str | None = None
    first_conv: str | None = None
    source_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    datasets: list[DatasetLink] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    papers: list[PaperLink] = field(default_factory=list)

    def content_hash(self) -> str:
        """A digest of everything the record says; equal records give equal digests."""
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()

    def set_license(self, lic) -> None:
        """Copy a normalize.License onto the record's four license columns."""
        self.license, self.license_raw = lic.id, lic.raw
        self.license_family, self.is_open = lic.family, lic.is_open
        if lic.name:
            self.extra["license_name"] = lic.name
