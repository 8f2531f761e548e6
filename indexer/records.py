"""What sources produce: plain dataclasses, no SQL, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    origin: str | None = None  # where exactly: a file and its version, a model card's section, whom it credits


@dataclass
class WeightsFile:
    """A file the model's weights are downloaded from, as its source names it: evidence that rows of
    several sources are the same weights (store/evidence.py), never a guess from a name."""
    url: str  # where it downloads from (scheme and host lower-case)
    sha256: str | None = None  # the file's content hash, where the source gives one


@dataclass
class Speed:
    """How fast a model runs, or what it costs per image, as a source measured it (timm's benchmark
    files; torchvision's GFLOPs)."""
    kind: str  # infer | train | ops (a cost without a device: torchvision's _ops)
    raw: str  # where it came from (timm's file name; "torchvision _ops")
    img_size: int | None = None
    device: str | None = None  # schema/devices.yml's name ("RTX 4090")
    precision: str | None = None  # amp | amp_bf16 | bf16 | fp32
    layout: str | None = None  # nchw | nhwc
    torch: str | None = None  # the torch version measured with
    compiled: bool | None = None  # torch.compile (dynamo)
    batch_size: int | None = None
    samples_per_sec: float | None = None
    step_time_ms: float | None = None
    gmacs: float | None = None  # multiply-accumulates per image, billions
    gflops: float | None = None  # floating-point operations per image, billions (torchvision)
    macts_m: float | None = None  # activations per image, millions


@dataclass
class PaperLink:
    paper_id: str  # "arxiv:2010.11929"
    raw: str  # as the source gave it


@dataclass
class Relation:
    relation: str  # this model is a <relation> of related_id: base_model, finetune, adapter, quantized, merge
    related_id: str  # a catalog id ("hf:meta-llama/Llama-3.1-8B"); need not be in the catalog
    raw: str  # as the source gave it


@dataclass
class RepoLink:
    repo_id: str  # "github:<owner>/<name>", lower case
    raw: str  # the URL or id it came from


# Counters that move every day without the model changing: written, but not part of the record's
# digest, so a download bump is not a "change" (changed_at, the FTS index and children stay put).
# is_test is derived from the row's own name and author (schema/test_models.yml): kept out of the
# digest too, so a change of the rules rewrites the flag on every row seen, not the rows.
VOLATILE_FIELDS = ("downloads", "likes", "is_test")
# Columns derived from the record's own child rows (its datasets, its metrics), so that pages read
# them without a subquery per row: written with the row, left out of the digest (the children are in it).
DERIVED_FIELDS = ("dataset_ids", "imagenet_top1")
DATASET_IDS_CHARS = 8000  # schema/caps.yml: models.dataset_ids


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
    entity_id: str | None = None  # the entity this row is one view of (None: its own id)
    source_uid: str | None = None  # the source's stable key, surviving renames (Hub _id)
    license_name: str | None = None
    downloads: int | None = None
    likes: int | None = None
    gated: str | None = None  # None, "auto" or "manual"
    private: bool | None = None
    disabled: bool | None = None
    sha: str | None = None
    repo_bytes: int | None = None
    # can load_model build it (normalize.loadable; the writer fills these when a source did not)
    loadable: bool | None = None
    load_backend: str | None = None
    load_note: str | None = None
    # a model that exists to test code (normalize.testmodel; the writer fills it when a source did not)
    is_test: bool | None = None
    datasets: list[DatasetLink] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    papers: list[PaperLink] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    repos: list[RepoLink] = field(default_factory=list)
    speeds: list[Speed] = field(default_factory=list)
    files: list[WeightsFile] = field(default_factory=list)

    def set_license(self, lic) -> None:
        """Copy a normalize.License onto the record's license columns."""
        self.license, self.license_raw = lic.id, lic.raw
        self.license_family, self.is_open = lic.family, lic.is_open
        self.license_name = lic.name

    # columns derived from the record's child rows (DERIVED_FIELDS): what the pages show of them
    @property
    def dataset_ids(self) -> str:
        """Its datasets' ids, each once, sorted, as a compact JSON array (as SQLite's
        json_group_array writes it); past DATASET_IDS_CHARS the last item says how many more."""
        import json

        ids = sorted({d.dataset_id for d in self.datasets if isinstance(d.dataset_id, str)})
        total = len(ids)
        out = json.dumps(ids, separators=(",", ":"), ensure_ascii=False)
        while len(out) > DATASET_IDS_CHARS and ids:
            ids = ids[: len(ids) * 3 // 4]
            out = json.dumps(ids + [f"… {total - len(ids)} more"], separators=(",", ":"), ensure_ascii=False)
        return out

    @property
    def imagenet_top1(self) -> float | None:
        """The highest ImageNet-1K top-1 its metrics report (at the model's own input size)."""
        import math

        values = [m.value for m in self.metrics if m.dataset_id == "imagenet-1k" and m.metric == "top1"
                  and isinstance(m.value, (int, float)) and not isinstance(m.value, bool) and math.isfinite(m.value)]
        return max(values) if values else None

    def set_is_test(self) -> None:
        from .normalize.testmodel import is_test_model

        self.is_test = is_test_model(self.source, name=self.name, author=self.author, architecture=self.architecture,
                                     id=self.id)

    def set_loadability(self) -> None:
        from .normalize.loadable import loadability

        found = loadability(self.source, self.library, self.tags, self.gated)
        self.loadable, self.load_backend, self.load_note = found.loadable, found.backend, found.note


@dataclass
class PaperRecord:
    """A paper's metadata (the arXiv source). `missing`: arXiv has no such id."""

    id: str  # "arxiv:2010.11929"
    source: str
    arxiv_id: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    abstract: str | None = None
    published: str | None = None
    updated: str | None = None
    categories: list[str] = field(default_factory=list)
    primary_category: str | None = None
    doi: str | None = None
    pdf_url: str | None = None
    url: str | None = None
    version: int | None = None
    comment: str | None = None
    journal_ref: str | None = None
    missing: bool = False
    repos: list[RepoLink] = field(default_factory=list)  # code named in the abstract or comment


# GitHub counters, and which source read it last: written, not part of a repository's digest.
REPO_VOLATILE_FIELDS = ("stars", "forks", "open_issues", "pushed_at", "source")


@dataclass
class RepoRecord:
    """A code repository (the GitHub and PyTorch Hub sources). `missing`: GitHub answers 404."""

    id: str  # "github:<owner>/<name>", lower case
    source: str
    full_name: str
    owner: str | None = None
    name: str | None = None
    description: str | None = None
    url: str | None = None
    homepage: str | None = None
    stars: int | None = None
    forks: int | None = None
    open_issues: int | None = None
    license: str = "unknown"
    license_raw: str | None = None
    license_family: str = "unknown"
    is_open: bool = False
    topics: list[str] = field(default_factory=list)
    language: str | None = None
    created_at: str | None = None
    pushed_at: str | None = None
    archived: bool | None = None
    fork: bool | None = None
    default_branch: str | None = None
    has_hubconf: bool | None = None
    missing: bool = False
    papers: list[PaperLink] | None = None  # arXiv papers its README names; None: not read this run

    def set_license(self, lic) -> None:
        self.license, self.license_raw = lic.id, lic.raw
        self.license_family, self.is_open = lic.family, lic.is_open


@dataclass
class PaperResult:
    """One result a paper reports on a leaderboard (Papers with Code's evaluation tables)."""

    task: str  # as the leaderboard names it ("Image Classification")
    dataset_raw: str  # the leaderboard's dataset ("ImageNet"; a subdataset as "ImageNet / ReaL")
    metric_raw: str  # "Top 1 Accuracy"
    model_name: str  # the row's name on the leaderboard ("EfficientNet-B7")
    value: float | None  # None: the archive's value is not a number
    value_raw: str | None = None  # as the archive wrote it ("84.4%")
    dataset_id: str | None = None  # canonical, when the dataset table knows it
    metric: str = ""  # canonical ("top1")
    extra_data: bool | None = None  # the row says it used data beyond the benchmark's training set
    paper_date: str | None = None


@dataclass
class CodeLink:
    """Code a paper links to, as the archive lists it."""

    repo_id: str  # "github:<owner>/<name>", lower case
    raw: str  # the URL
    official: bool | None = None  # the authors' own code
    framework: str | None = None  # "pytorch", "tf", "jax", ... as the archive names it


@dataclass
class PaperResultsRecord:
    """What one paper reports (the pwc source): its leaderboard results and its code. `id` is the
    paper's catalog id ("arxiv:1905.11946") when the archive gives an arXiv id, else the archive's
    own paper URL; each write replaces the source's results and code links of that paper."""

    id: str
    source: str
    paper_id: str | None  # "arxiv:<id>", or None
    title: str | None = None
    paper_url: str | None = None  # the archive's page for the paper
    results: list[PaperResult] = field(default_factory=list)
    code: list[CodeLink] = field(default_factory=list)
    origin: str | None = None  # the archive's files and revision


Record = ModelRecord | PaperRecord | RepoRecord | PaperResultsRecord
