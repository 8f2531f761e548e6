"""arXiv: the metadata of every paper the catalog references, and optional searches.

Each run asks the catalog which arXiv ids its rows name (HF arxiv: tags, timm paper_ids, PyTorch Hub
pages, torchvision docs) that have never been read, or were read more than `stale_days` ago, and
reads them in batched `id_list` queries through the `arxiv` package. An id arXiv does not have is
kept, marked missing, so it is not asked again until it is stale. Then the configured searches
(e.g. new cs.CV papers on pretrained models), each from where the previous run left it.

arXiv's terms: at least 3 s between requests, which the client enforces (`delay_seconds`; never
below 3 against arxiv.org). ARXIV_API_URL (or the `endpoint` setting) replaces the query endpoint.
"""

from __future__ import annotations

import datetime
import functools
import importlib.util
import logging
import os
import re
import time
from typing import Any, Iterator
from urllib.parse import urlsplit

from ..errors import SkipRecord, SourceError, SourceUnavailable
from ..normalize import arxiv_ids
from ..normalize.links import github_repo_ids
from ..normalize.values import as_list, integer, text, texts
from ..records import PaperRecord, RepoLink
from .base import Checkpoint, FetchContext, Source, preflight
from .http import TRANSIENT_STATUS, RetryingSession, backoff

log = logging.getLogger("modelcat")

DEFAULT_ENDPOINT = "https://export.arxiv.org/api/query"
MIN_DELAY = 3.0  # seconds between requests to arxiv.org (its terms of use)
_ID = re.compile(r"^(?:(?:0[7-9]|[1-9]\d)(?:0[1-9]|1[0-2])\.\d{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})$")
_VERSION = re.compile(r"v(\d+)$")


class ArxivSource(Source):
    name = "arxiv"
    needs_network = True
    full_listing = False
    package = "arxiv"
    settings = {
        "batch_size": (int, 100, "ids per id_list request"),
        "stale_days": (float, 90.0, "re-read a paper after this many days (new versions, a DOI once published)"),
        "max_papers": (int, 20000, "papers read per run (the rest wait for the next run)"),
        "searches": (list, [], "arXiv searches to add papers from, e.g. 'cat:cs.CV AND abs:pretrained'"),
        "search_max_results": (int, 500, "results read per search and run"),
        "search_since_days": (float, 30.0, "a search's first run looks back this many days"),
        "delay_seconds": (float, MIN_DELAY, "seconds between requests (at least 3 for arxiv.org)"),
        "retries": (int, 3, "retries of a failed or empty page"),
        "timeout": (float, 60.0, "seconds to wait for arXiv's answer before retrying"),
        "endpoint": (str, "", "the query endpoint (default: $ARXIV_API_URL, else https://export.arxiv.org/api/query)"),
    }

    def fetch(self, ctx: FetchContext) -> Iterator[Any]:
        if importlib.util.find_spec("arxiv") is None:
            raise SourceUnavailable("the arxiv package is not installed: run the README's set-up")
        import arxiv

        cfg = self.resolved_settings(ctx)
        endpoint = (cfg["endpoint"] or os.environ.get("ARXIV_API_URL") or DEFAULT_ENDPOINT).strip()
        preflight(endpoint, "arXiv", "ARXIV_API_URL")
        delay = effective_delay(endpoint, cfg["delay_seconds"])
        self._client = _client(endpoint, cfg["batch_size"], delay, cfg["retries"], float(cfg["timeout"]))
        self._endpoint, self._delay = endpoint, delay
        ctx.details.update(endpoint=endpoint, delay_seconds=delay)

        todo = ctx.catalog.papers_to_fetch(cfg["stale_days"], limit=cfg["max_papers"]) if ctx.catalog else []
        valid = [i for i in todo if _ID.match(i)]
        for bad in sorted(set(todo) - set(valid)):
            yield {"missing": bad, "reason": "not an arXiv id"}
        ctx.details["ids"] = len(valid)
        found = missing = 0
        unreadable: list[str] = []
        size = max(1, min(int(cfg["batch_size"]), 2000))
        for start in range(0, len(valid), size):
            batch = valid[start:start + size]
            try:
                results = self._lookup(batch)
            except (arxiv.ArxivError, BadFeed, OSError) as e:
                raise SourceError(f"arXiv failed for ids {batch[0]}..{batch[-1]} after {cfg['retries']} "
                                  f"retries: {_describe(e)}; {start} of {len(valid)} ids were read, "
                                  "the rest are read next run") from None
            for ident in batch:
                item = results.get(ident) or {"missing": ident, "reason": "arXiv has no such id"}
                if "unreadable" in item:
                    unreadable.append(ident)  # not marked: the next run asks again
                    continue
                if "missing" in item:
                    missing += 1
                else:
                    found += 1
                yield item
            ctx.progress(min(start + size, len(valid)), len(valid), "papers")
            yield Checkpoint(ctx.state)
        ctx.details.update(found=found, missing=missing)
        if unreadable:
            ctx.details["unreadable"] = unreadable[:100]
            ctx.log.warning("arxiv: %d paper(s) arXiv listed but sent unreadable (%s); asked again next run",
                            len(unreadable), ", ".join(unreadable[:5]))
        yield from self._searches(ctx, cfg)

    def _lookup(self, batch: list[str]) -> dict[str, dict]:
        """{id: raw} for the ids of one batch that arXiv answers. An id it rejects (HTTP 400: a
        malformed id; the batch is split in halves until that id is alone) is {"missing", "reason"};
        ids arXiv listed but sent entries the client could not read are {"unreadable"}; ids
        arXiv does not list are left out."""
        import arxiv

        try:  # every id arXiv has fits one page: paging on would mean entries were dropped
            feed = self._client.first_page(arxiv.Search(id_list=batch, max_results=len(batch)))
        except arxiv.HTTPError as e:
            if e.status != 400:
                raise
            if len(batch) == 1:
                return {batch[0]: {"missing": batch[0], "reason": "arXiv rejects the id (HTTP 400)"}}
            half = len(batch) // 2
            return {**self._lookup(batch[:half]), **self._lookup(batch[half:])}
        out: dict[str, dict] = {}
        for r in feed.results:
            raw = result_raw(r)
            if raw and raw["arxiv_id"] in batch:
                out[raw["arxiv_id"]] = raw
        # arXiv's totalResults counts the entries it found: more than were read means entries the
        # client skipped as broken, and which ids they were is unknown
        if feed.header.total_results > len(feed.results):
            out.update({i: {"unreadable": i} for i in batch if i not in out})
        return out

    def _searches(self, ctx: FetchContext, cfg: dict) -> Iterator[Any]:
        import arxiv

        if not cfg["searches"]:
            return
        marks = ctx.state.setdefault("searches", {})
        now = datetime.datetime.now(datetime.timezone.utc)
        for query in cfg["searches"]:
            q = str(query).strip()
            since = marks.get(q) or (now - datetime.timedelta(days=cfg["search_since_days"])).strftime("%Y%m%d%H%M")
            until = now.strftime("%Y%m%d%H%M")
            search = arxiv.Search(query=f"({q}) AND submittedDate:[{since} TO {until}]",
                                  max_results=cfg["search_max_results"],
                                  sort_by=arxiv.SortCriterion.SubmittedDate)
            n = 0
            try:
                for r in self._client.results(search):
                    raw = result_raw(r)
                    if raw:
                        n += 1
                        yield raw
            except (arxiv.ArxivError, BadFeed, OSError) as e:
                ctx.details.setdefault("failed_searches", []).append(f"{q!r}: {_describe(e)}")
                ctx.log.warning("arxiv: search %r failed: %s", q, _describe(e))
                continue
            ctx.details.setdefault("searches", {})[q] = n
            marks[q] = until
            yield Checkpoint(ctx.state)

    def normalize(self, raw: dict) -> PaperRecord:
        return normalize_arxiv(raw)


def effective_delay(endpoint: str, configured: float) -> float:
    """Seconds between requests: as configured, but never under 3 against arxiv.org."""
    host = (urlsplit(endpoint).hostname or "").lower()
    if host == "arxiv.org" or host.endswith(".arxiv.org"):
        return max(float(configured), MIN_DELAY)
    return float(configured)


class BadFeed(Exception):
    """An answer that is not arXiv's: retried like a failed request, then raised."""

    def __init__(self, url: str, problem: str):
        super().__init__(f"{problem} ({url})")
        self.problem = problem


def feed_problem(feed) -> str | None:
    """Why a parsed answer is not one of arXiv's, or None. The client reads any body it can
    recover as a feed: a proxy's HTML error page or a body cut short parse as an empty feed,
    which would mark every id asked as missing. Every real answer, an empty one included, has
    the opensearch header (itemsPerPage is the page size asked for, at least 1)."""
    if feed.malformed:
        return f"the answer is not an Atom feed: {feed.error}"
    if feed.header.items_per_page <= 0:
        return "the answer has no opensearch header: not arXiv's (an error page, or a body cut short)"
    return None


@functools.lru_cache(maxsize=1)
def _checked_client_class():
    import arxiv

    class CheckedClient(arxiv.Client):
        """arxiv.Client whose requests go through a RetryingSession (a timeout; resets, bodies cut
        short, 429 and 5xx retried with backoff, Retry-After honoured), and that does not take a
        body that is not arXiv's for "no results": that is asked again (num_retries, with backoff),
        then BadFeed. arxiv's own retry loop is turned off, so the bound is not squared."""

        def first_page(self, search):
            """The first page of `search` (max_results entries), parsed and checked, with its
            header: one request, no paging."""
            return self._parse_feed(self._format_url(search, 0, search.max_results or self.page_size))

        def _parse_feed(self, url, first_page=True, _try_index=0):
            attempt = 0
            while True:
                attempt += 1
                try:  # _try_index = num_retries: arxiv gives up at once; the session has retried
                    feed = super()._parse_feed(url, first_page=first_page, _try_index=self.num_retries)
                except arxiv.UnexpectedEmptyPageError as e:
                    problem = str(e)
                else:
                    problem = feed_problem(feed)
                    if problem is None:
                        return feed
                if attempt > self.num_retries:
                    raise BadFeed(url, problem)
                wait = backoff(attempt, 1.0, 16.0)
                log.info("arxiv: %s; retry %d/%d in %.1f s", problem, attempt, self.num_retries, wait)
                time.sleep(wait)

    return CheckedClient


def feed_incomplete(r) -> str | None:
    """What is wrong with a successful answer that is not a whole Atom feed, else None. The
    client's XML parser recovers what it can from half a feed (the header and the first entries),
    which would pass for a feed that lacks the rest; every whole Atom document ends with </feed>."""
    if not (200 <= r.status_code < 300) or r.content.rstrip().endswith(b"</feed>"):
        return None
    return "not a whole Atom feed (no </feed>: a body cut short, or an answer that is not arXiv's)"


def _client(endpoint: str, page_size: int, delay: float, retries: int, timeout: float = 60.0):
    client = _checked_client_class()(page_size=max(1, min(int(page_size), 2000)), delay_seconds=delay,
                                     num_retries=retries)
    client._session = RetryingSession(timeout=timeout, retries=retries, statuses=TRANSIENT_STATUS,
                                      body_problem=feed_incomplete, name="arxiv")
    client.query_url_format = endpoint + ("&{}" if "?" in endpoint else "?{}")
    return client


def _describe(e: Exception) -> str:
    if isinstance(e, BadFeed):
        return e.problem
    status = getattr(e, "status", None)
    return f"HTTP {status}" if status else f"{type(e).__name__}: {e}"[:300]


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        if value.year <= 1:
            return None  # the client's placeholder for a missing date
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def result_raw(r) -> dict | None:
    """An arxiv.Result as plain JSON; None for arXiv's error entries."""
    entry_id = getattr(r, "entry_id", "") or ""
    if "/api/errors" in entry_id:
        return None
    short = r.get_short_id()
    m = _VERSION.search(short)
    base = short[: m.start()] if m else short
    return {
        "arxiv_id": base,
        "version": int(m.group(1)) if m else None,
        "entry_id": entry_id,
        "title": r.title,
        "authors": [a.name for a in r.authors],
        "abstract": r.summary,
        "published": _iso(r.published),
        "updated": _iso(r.updated),
        "categories": list(r.categories or []),
        "primary_category": r.primary_category or None,
        "doi": r.doi or None,
        "pdf_url": r.pdf_url,
        "comment": r.comment or None,
        "journal_ref": r.journal_ref or None,
    }


def _text(v: Any, limit: int) -> str | None:
    if not isinstance(v, str):
        return None
    v = " ".join(v.split())
    return v[:limit] or None


def normalize_arxiv(raw: dict) -> PaperRecord:
    if raw.get("missing"):
        ident = text(raw["missing"], 40)
        if not ident or not arxiv_ids(f"arXiv:{ident}", bare=False):
            raise SkipRecord(f"not an arXiv id: {str(raw['missing'])[:80]!r}")
        return PaperRecord(id=f"arxiv:{ident}", source="arxiv", arxiv_id=ident, missing=True,
                           comment=_text(raw.get("reason"), 200), url=f"https://arxiv.org/abs/{ident}")
    ident = raw.get("arxiv_id")
    if not isinstance(ident, str) or not arxiv_ids(f"arXiv:{ident}", bare=False):
        raise SkipRecord(f"not an arXiv id: {str(ident)[:80]!r}")
    abstract = _text(raw.get("abstract"), 10_000)
    comment = _text(raw.get("comment"), 1000)
    # code the authors point to: "Code: https://github.com/google-research/vision_transformer"
    repos = [RepoLink(repo_id, f"https://github.com/{written}") for repo_id, written in github_repo_ids([comment, abstract])]
    return PaperRecord(
        id=f"arxiv:{ident}",
        source="arxiv",
        arxiv_id=ident,
        title=_text(raw.get("title"), 1000),
        authors=[a for a in (_text(x, 300) for x in as_list(raw.get("authors"))) if a][:500],
        abstract=abstract,
        published=text(raw.get("published"), 40),
        updated=text(raw.get("updated"), 40),
        categories=texts(raw.get("categories"), 40, most=20),
        primary_category=text(raw.get("primary_category"), 40),
        doi=text(raw.get("doi"), 300),
        pdf_url=text(raw.get("pdf_url"), 500),
        url=f"https://arxiv.org/abs/{ident}",
        version=integer(raw.get("version")),
        comment=comment,
        journal_ref=_text(raw.get("journal_ref"), 500),
        repos=repos,
    )
