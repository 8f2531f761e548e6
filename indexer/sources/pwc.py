"""Papers with Code's leaderboards and paper-code links, from its archive on the Hugging Face Hub.

paperswithcode.com shut down in July 2025; its last dumps live on as files of the dataset
repository `pwc-archive/files` (CC-BY-SA-4.0), in the format the site published them in:

* `jul-28-evaluation-tables.json.gz`: one JSON array of tasks, in sota-extractor's format:
  `{"task", "description", "categories", "datasets": [{"dataset", "subdatasets": [{"subdataset",
  "sota"}...], "sota": {"metrics": [names], "rows": [{"model_name", "paper_title", "paper_url",
  "paper_date", "code_links", "model_links", "metrics": {name: value}, "uses_additional_data"}]}}],
  "subtasks": [tasks...], "synonyms", "source_link"}`. Values are numbers or text ("84.4%").
* `jul-28-links-between-papers-and-code.json.gz`: `[{"paper_url", "paper_title", "paper_arxiv_id",
  "paper_url_abs", "paper_url_pdf", "repo_url", "is_official", "mentioned_in_paper",
  "mentioned_in_github", "framework"}]`.
* `jul-29-papers-with-abstracts.json.gz` (optional): `[{"paper_url", "arxiv_id", "title",
  "abstract", "url_abs", ...}]`, read only for the arXiv ids of leaderboard papers the links file
  does not name.

The files are read through huggingface_hub (HF_ENDPOINT or `[pwc] endpoint`; downloads resume;
HF_HUB_OFFLINE reads the cache), streamed item by item, and read again only when one of them
changed (their ETags are kept in the source's state). Each paper becomes one record: its results
(task, dataset, metric, value, the leaderboard's model name) and its code (GitHub repositories,
official or not, with their framework). A paper is keyed by its arXiv id when the archive gives
one (so it joins the catalog's papers, and through them models and code), else by its archive URL.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import SkipRecord, SourceError, SourceUnavailable
from ..normalize.arxiv import arxiv_ids
from ..normalize.dataset import canonical_dataset
from ..normalize.ids import valid_id
from ..normalize.links import github_repo_ids
from ..normalize.metric import canonical_metric
from ..normalize.values import as_list, text
from ..parse.jsonstream import JSONStreamError, iter_json_array
from ..records import CodeLink, PaperResult, PaperResultsRecord
from .base import FetchContext, Source, preflight

log = logging.getLogger("modelcat")

DEFAULT_ENDPOINT = "https://huggingface.co"
ARCHIVE = "pwc-archive/files"
FILES = {  # setting -> the archive's file name
    "evaluation_tables": "jul-28-evaluation-tables.json.gz",
    "links": "jul-28-links-between-papers-and-code.json.gz",
    "papers": "jul-29-papers-with-abstracts.json.gz",
}
MAX_DEPTH = 8  # subtasks and subdatasets nest; deeper is not data
_ARCHIVE_PAGE = "paperswithcode.com/paper/"


class PwcSource(Source):
    name = "pwc"
    needs_network = True
    # the archive lists everything it has, but only a run that read it lists anything: fetch()
    # says so itself (ctx.listed_all_since), so a run that found the files unchanged removes nothing
    full_listing = False
    package = None
    settings = {
        "endpoint": (str, "", "the Hub's address (default: $HF_ENDPOINT, else https://huggingface.co)"),
        "repo": (str, ARCHIVE, "the dataset repository holding the archive's files"),
        "revision": (str, "main", "the archive's branch or commit"),
        "evaluation_tables": (str, FILES["evaluation_tables"], "the evaluation tables' file"),
        "links": (str, FILES["links"], "the paper-code links' file"),
        "papers": (str, FILES["papers"], "the papers' file, read for the arXiv ids of leaderboard papers "
                                         "the links do not name (\"\": do not read it)"),
        "full": (bool, False, "this run: read the files even when they have not changed"),
    }

    def version(self) -> str | None:
        return getattr(self, "_revision", None)

    # ----------------------------------------------------------------- fetch
    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        cfg = self.resolved_settings(ctx)
        endpoint = (cfg["endpoint"] or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        repo, revision = cfg["repo"], cfg["revision"] or "main"
        if not valid_id("hf_repo", repo):
            raise SourceError(f"[pwc] repo {repo!r} is not a Hub repository id (owner/name): fix modelcat.toml")
        from huggingface_hub import constants

        offline = bool(constants.HF_HUB_OFFLINE)
        if not offline:
            preflight(endpoint, "the Hugging Face Hub", "HF_ENDPOINT")
        ctx.details.update(endpoint=endpoint, repo=repo)
        cache = ctx.cache_dir / "hub"
        wanted = [(key, cfg[key]) for key in ("evaluation_tables", "links", "papers") if cfg[key]]
        found: dict[str, tuple[Path, str, str]] = {}
        for key, filename in wanted:
            ctx.progress(0, None, f"pwc: {filename}")
            got = _download(endpoint, repo, revision, filename, cache, optional=(key == "papers"), offline=offline)
            if got is not None:
                found[key] = got
        commits = {c for _, _, c in found.values()}
        self._revision = f"{repo}@{sorted(commits)[0][:12]}" if len(commits) == 1 else repo
        fingerprint = {filename: found[key][1] for key, filename in wanted if key in found}
        ctx.details.update(revision=self._revision, files=sorted(fingerprint))
        if not cfg["full"] and ctx.state.get("files") == fingerprint:
            ctx.details["unchanged"] = True
            ctx.log.info("pwc: the archive's files have not changed since the last run: nothing to read")
            return
        origin = f"Papers with Code archive ({self._revision})"

        # 1. the evaluation tables: results, grouped by the paper's archive URL
        tables_path = found["evaluation_tables"][0]
        by_url: dict[str, dict] = {}
        counts = {"results": 0, "results_without_paper": 0, "tasks": 0}
        for task in _items(tables_path, "the evaluation tables"):
            counts["tasks"] += 1
            for row in _results(task, counts):
                paper = by_url.get(row["paper_url"])
                if paper is None:
                    paper = by_url[row["paper_url"]] = {"paper_url": row["paper_url"], "title": row["paper_title"],
                                                        "results": [], "code": []}
                paper["results"].append(row["result"])
            ctx.progress(counts["results"], None, "pwc: leaderboard results read")

        # 2. the links between papers and code; their arXiv ids name papers the tables name by URL
        links_path = found["links"][0]
        arxiv_of: dict[str, str] = {}
        n_links = 0
        for link in _items(links_path, "the paper-code links"):
            if not isinstance(link, dict):
                continue
            url = text(link.get("paper_url"), 2000)
            if url is None:
                continue
            n_links += 1
            ax = text(link.get("paper_arxiv_id"), 100)
            if ax:
                arxiv_of[url] = ax
            paper = by_url.get(url)
            if paper is None:
                paper = by_url[url] = {"paper_url": url, "title": text(link.get("paper_title"), 2000),
                                       "results": [], "code": []}
            paper["code"].append({"repo_url": link.get("repo_url"), "official": link.get("is_official"),
                                  "framework": link.get("framework")})
            if n_links % 20000 == 0:
                ctx.progress(n_links, None, "pwc: paper-code links read")
        counts["links"] = n_links

        # 3. the papers' file, only for leaderboard papers still without an arXiv id
        unknown = {u for u, p in by_url.items() if p["results"] and u not in arxiv_of and not arxiv_ids(u, bare=False)}
        if unknown and "papers" in found:
            for p in _items(found["papers"][0], "the papers"):
                if not isinstance(p, dict):
                    continue
                url = p.get("paper_url")
                if url in unknown:
                    ax = text(p.get("arxiv_id"), 100)
                    if ax:
                        arxiv_of[url] = ax
                    unknown.discard(url)
                    if not unknown:
                        break

        # 4. one record per paper: the tables' URL (an arXiv URL, or the archive's page) and the
        # links' (the archive's page) may name the same arXiv paper
        by_key: dict[str, dict] = {}
        for url, paper in by_url.items():
            found = arxiv_ids(arxiv_of.get(url) or "", bare=True) or arxiv_ids(url, bare=False)
            key = f"arxiv:{found[0]}" if found else url
            into = by_key.get(key)
            if into is None:
                by_key[key] = {**paper, "arxiv_id": found[0] if found else None, "origin": origin,
                               "paper_url": url if _ARCHIVE_PAGE in url or not found else None}
                continue
            into["results"].extend(paper["results"])
            into["code"].extend(paper["code"])
            into["title"] = into["title"] or paper["title"]
            if _ARCHIVE_PAGE in url:
                into["paper_url"] = url
        del by_url
        counts["papers"] = len(by_key)
        counts["papers_without_arxiv_id"] = sum(1 for p in by_key.values() if p["arxiv_id"] is None)
        ctx.details.update(counts)
        for i, paper in enumerate(by_key.values(), 1):
            yield paper
            if i % 5000 == 0:
                ctx.progress(i, len(by_key), "pwc: papers")
        ctx.state["files"] = fingerprint
        ctx.listed_all_since = ctx.run_started or None

    # ----------------------------------------------------------------- normalize
    def normalize(self, raw: dict) -> PaperResultsRecord:
        return normalize_pwc(raw, source=self.name)


def _download(endpoint: str, repo: str, revision: str, filename: str, cache: Path, *, optional: bool,
              offline: bool) -> tuple[Path, str, str] | None:
    """(path, ETag, commit) of one archive file: downloaded (resumed) when it changed, else the
    cached copy after one HEAD. None for a missing optional file."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError,
    )

    where = f"{repo}/{filename} at {endpoint}"
    try:
        path = hf_hub_download(repo, filename, repo_type="dataset", revision=revision, endpoint=endpoint,
                               cache_dir=cache)
    except EntryNotFoundError:
        if optional:
            log.warning("pwc: %s does not exist: read without it", where)
            return None
        raise SourceError(f"the Papers with Code archive has no file {where}: fix [pwc] in modelcat.toml") from None
    except RevisionNotFoundError:
        raise SourceError(f"the Papers with Code archive {repo} has no revision {revision!r}: "
                          "fix [pwc] revision in modelcat.toml") from None
    except RepositoryNotFoundError:
        raise SourceError(f"no dataset repository {repo} at {endpoint}: fix [pwc] repo in modelcat.toml") from None
    except LocalEntryNotFoundError as e:
        if offline:
            raise SourceUnavailable(f"{where} is not in the cache and HF_HUB_OFFLINE is set: "
                                    "run once online (unset HF_HUB_OFFLINE)") from None
        raise SourceUnavailable(f"cannot download {where} ({e}): check the network or HF_ENDPOINT") from None
    except (HfHubHTTPError, OSError) as e:
        raise SourceUnavailable(f"cannot download {where}: {str(e).splitlines()[0][:300]}") from None
    p = Path(path)
    etag = Path(os.path.realpath(p)).name  # the cache keeps each file as blobs/<ETag>
    commit = p.parent.name
    return p, etag, commit


def _items(path: Path, what: str) -> Iterator[Any]:
    """The items of one of the archive's gzipped JSON arrays, one at a time."""
    try:
        with gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb") as f:
            yield from iter_json_array(f, what=f"{what} ({path.name})")
    except JSONStreamError as e:
        raise SourceError(f"{e}: the cached copy may be damaged; delete {path} and run again") from None
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise SourceError(f"cannot read {what} ({path.name}): {e}; delete {path} and run again") from None


def _results(task: Any, counts: dict, depth: int = 0, parent: str | None = None) -> Iterator[dict]:
    """Every result row of a task and its subtasks: one per (row, metric), in the raw shape that
    normalize_pwc reads."""
    if not isinstance(task, dict) or depth > MAX_DEPTH:
        return
    name = text(task.get("task"), 500) or parent
    if name is None:
        return
    for ds in as_list(task.get("datasets")):
        yield from _dataset_rows(name, ds, None, counts, depth)
    for sub in as_list(task.get("subtasks")):
        yield from _results(sub, counts, depth + 1, name)


def _dataset_rows(task: str, ds: Any, parent: str | None, counts: dict, depth: int) -> Iterator[dict]:
    if not isinstance(ds, dict) or depth > MAX_DEPTH:
        return
    own = text(ds.get("dataset"), 300) or text(ds.get("subdataset"), 300)
    if own is None:
        return
    name = f"{parent} / {own}" if parent else own
    sota = ds.get("sota") if isinstance(ds.get("sota"), dict) else {}
    for row in as_list(sota.get("rows")):
        if not isinstance(row, dict) or not isinstance(row.get("metrics"), dict):
            continue
        model = text(row.get("model_name"), 300)
        url = text(row.get("paper_url"), 2000)
        if model is None:
            continue
        for metric, value in row["metrics"].items():
            counts["results"] += 1
            if url is None:
                counts["results_without_paper"] += 1
                continue
            yield {"paper_url": url, "paper_title": text(row.get("paper_title"), 2000), "result": {
                "task": task, "dataset": name, "metric": metric, "model": model, "value": value,
                "extra": row.get("uses_additional_data"), "date": row.get("paper_date")}}
    for sub in as_list(ds.get("subdatasets")):
        yield from _dataset_rows(task, sub, name, counts, depth + 1)


_NUMBER = re.compile(r"^\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([%kKmMbBgG]?)")
_SCALE = {"": 1, "%": 1, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9}


def parse_value(value: Any) -> float | None:
    """A leaderboard value as a number: 84.4, "84.4", "84.4%", "1,024", "25.6M"; text that does not
    start with a number ("-", "N/A") is None. A percent stays in percent, as the leaderboard shows it."""
    import math

    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if not isinstance(value, str):
        return None
    m = _NUMBER.match(value[:100])
    if m is None:
        return None
    f = float(m.group(1).replace(",", "")) * _SCALE[m.group(2).lower()]
    return f if math.isfinite(f) else None


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalize_pwc(raw: dict, *, source: str = "pwc") -> PaperResultsRecord:
    """One paper's raw results and code links -> a PaperResultsRecord (pure)."""
    if not isinstance(raw, dict):
        raise SkipRecord("not an object")
    url = text(raw.get("paper_url"), 2000)
    found = arxiv_ids(text(raw.get("arxiv_id"), 100) or "", bare=True) or arxiv_ids(url or "", bare=False)
    paper_id = f"arxiv:{found[0]}" if found else None
    key = paper_id or url
    if key is None:
        raise SkipRecord("no paper", "a result or link without a paper URL")
    results = []
    for r in as_list(raw.get("results")):
        if not isinstance(r, dict):
            continue
        task, dataset, metric, model = (text(r.get(k), 500) for k in ("task", "dataset", "metric", "model"))
        if not (task and dataset and metric and model):
            continue
        value = r.get("value")
        date = text(r.get("date"), 40)
        results.append(PaperResult(
            task=task, dataset_raw=dataset, metric_raw=metric, model_name=model,
            value=parse_value(value), value_raw=None if value is None else str(value)[:100],
            # a subdataset ("ImageNet / ReaL") is its own evaluation set: canonical only when the table knows it
            dataset_id=canonical_dataset(dataset),
            metric=canonical_metric(metric),
            extra_data=r.get("extra") if isinstance(r.get("extra"), bool) else None,
            paper_date=date if date and _DATE.match(date) else None))
    code, seen = [], set()
    for c in as_list(raw.get("code")):
        if not isinstance(c, dict):
            continue
        repo_url = text(c.get("repo_url"), 2000)
        for repo_id, _ in github_repo_ids(repo_url):
            if repo_id in seen:
                continue
            seen.add(repo_id)
            official = c.get("official")
            code.append(CodeLink(repo_id=repo_id, raw=repo_url, official=official if isinstance(official, bool) else None,
                                 framework=text(c.get("framework"), 40)))
            break
    if not results and not code:
        raise SkipRecord("nothing to keep", "a paper with no results and no GitHub code")
    return PaperResultsRecord(id=key, source=source, paper_id=paper_id, title=text(raw.get("title"), 2000),
                              paper_url=url, results=results, code=code, origin=text(raw.get("origin"), 300))
