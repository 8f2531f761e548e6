"""GitHub: code repositories behind the models, found by search and by the links other sources make.

Each run:
  1. the configured repository searches (GitHub's search syntax, sorted by stars; GitHub returns at
     most 1000 results per query, so a broad question is better asked as several narrow ones);
  2. with GITHUB_TOKEN, a code search for `filename:hubconf.py` (GitHub allows code search only
     to signed-in users): those repositories get has_hubconf = 1, and the torchhub source lists
     their entrypoints;
  3. the repositories that models and papers link to (timm's origin_url, Hub model cards, PyTorch
     Hub pages, code named in arXiv abstracts) and no source has read yet, or read more than
     `stale_days` ago. A repository GitHub no longer has is kept, marked missing.

Rate limits (GitHub's): search 30 requests/min signed in, 10 anonymous; the core API 5000/hour
signed in, 60 anonymous. PyGithub's GithubRetry waits out short limits; a wait longer than
`max_rate_limit_wait` ends the run early with what it has read, and the next run goes on.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import SkipRecord, SourceError
from ..normalize import arxiv_ids, normalize_license
from ..normalize.values import text
from ..normalize.ids import id_problem, valid_id
from ..records import PaperLink, RepoRecord
from . import ghclient
from .base import Checkpoint, FetchContext, Source

MAX_README = 1_000_000  # bytes of a README read for arXiv links
MAX_README_PAPERS = 50  # a README that cites more (a model zoo's) keeps the first ones it names
DEFAULT_QUERIES = [
    "pretrained pytorch image classification",
    "topic:pretrained-models",
    "topic:pytorch topic:image-classification",
]


class GitHubSource(Source):
    name = "github"
    needs_network = True
    full_listing = False  # searches see a slice of GitHub; nothing is removed for not being found
    settings = {
        "queries": (list, DEFAULT_QUERIES, "repository searches (GitHub search syntax), each sorted by stars"),
        "max_results": (int, 1000, "results read per query (GitHub stops at 1000)"),
        "min_stars": (int, 0, "add stars:>=N to every query"),
        "hubconf_search": (bool, True, "with GITHUB_TOKEN: find repositories with a hubconf.py (code search)"),
        "hubconf_query": (str, "filename:hubconf.py language:Python", "the code search that finds hubconf.py files"),
        "readme_papers": (bool, True, "with GITHUB_TOKEN: the arXiv papers each repository's README names "
                                      "(a request per repository; again only after a push)"),
        "linked": (bool, True, "read the repositories that models and papers link to"),
        "max_linked": (int, 2000, "linked repositories read per run (the rest wait for the next run)"),
        "stale_days": (float, 30.0, "re-read a linked repository after this many days"),
        **ghclient.SETTINGS,
    }
    package = "PyGithub"

    def fetch(self, ctx: FetchContext) -> Iterator[Any]:
        cfg = self.resolved_settings(ctx)
        gh = ghclient.connect(ctx, cfg)
        seen: set[str] = set()
        self._readmes = bool(cfg["readme_papers"]) and ghclient.token() is not None
        if cfg["readme_papers"] and not self._readmes:
            ctx.details["readme_papers"] = "skipped: reading READMEs (a request per repository) needs GITHUB_TOKEN"
        try:
            yield from self._searches(ctx, gh, cfg, seen)
            yield from self._hubconf_search(ctx, gh, cfg, seen)
            if cfg["linked"] and ctx.catalog is not None:
                yield from self._linked(ctx, gh, cfg, seen)
        except ghclient.RateLimited as e:
            ctx.details["stopped_early"] = str(e)
            ctx.log.warning("github: %s; the rest waits for the next run", e)
        ctx.details["repos"] = len(seen)

    def _searches(self, ctx, gh, cfg, seen) -> Iterator[Any]:
        import github

        failed = []
        for i, query in enumerate(cfg["queries"] or []):
            q = str(query).strip()
            if cfg["min_stars"] and "stars:" not in q:
                q += f" stars:>={int(cfg['min_stars'])}"
            n = 0
            try:
                results = gh.search_repositories(q, sort="stars", order="desc")
                for repo in results:
                    if n >= min(cfg["max_results"], 1000):
                        break
                    n += 1
                    raw = ghclient.repo_raw(repo)
                    key = (raw.get("full_name") or "").lower()
                    if key in seen:
                        continue
                    seen.add(key)
                    yield self._with_papers(ctx, repo, {"repo": raw, "found_by": f"search:{q}"})
                    ctx.progress(len(seen), None, f"search {i + 1}/{len(cfg['queries'])}")
            except github.RateLimitExceededException as e:
                raise ghclient.translate(e, f"the search {q!r}") from None
            except github.GithubException as e:
                if e.status == 422 and n:  # "Only the first 1000 search results are available"
                    pass
                else:
                    failed.append(f"{q!r}: {ghclient.translate(e, 'a search')}")
                    ctx.log.warning("github: search %r failed: %s", q, ghclient.translate(e, "the search"))
            ctx.details.setdefault("searches", {})[q] = n
            yield Checkpoint(ctx.state)
        if failed:
            ctx.details["failed_searches"] = failed
            if len(failed) == len(cfg["queries"]):
                raise SourceError("every GitHub search failed: " + "; ".join(failed)[:500])

    def _hubconf_search(self, ctx, gh, cfg, seen) -> Iterator[Any]:
        import github

        if not cfg["hubconf_search"]:
            return
        if not ghclient.token():
            ctx.details["hubconf_search"] = "skipped: GitHub's code search needs GITHUB_TOKEN"
            ctx.log.info("github: code search for hubconf.py skipped: set GITHUB_TOKEN to enable it")
            return
        found: dict[str, Any] = {}
        try:
            for hit in gh.search_code(cfg["hubconf_query"]):
                if hit.path != "hubconf.py":  # only a top-level hubconf.py is a PyTorch Hub repo
                    continue
                # the hit's own repository object (raw_data would fetch the file again)
                name = hit.repository.full_name if hit.repository is not None else None
                if name and name.lower() not in found:
                    found[name.lower()] = name
                if len(found) >= 1000:
                    break
        except github.RateLimitExceededException as e:
            raise ghclient.translate(e, "the hubconf.py code search") from None
        except github.GithubException as e:
            if not (e.status == 422 and found):
                ctx.details["hubconf_search"] = str(ghclient.translate(e, "the hubconf.py code search"))
                ctx.log.warning("github: %s", ctx.details["hubconf_search"])
                return
        ctx.details["hubconf_search"] = len(found)
        # code search hits carry a short repository object (no stars, license): read each one
        for key, name in found.items():
            raw = self._get(ctx, gh, name)
            if raw is None:
                continue
            raw["repo"]["has_hubconf"] = True
            seen.add(key)
            yield raw
        yield Checkpoint(ctx.state)

    def _linked(self, ctx, gh, cfg, seen) -> Iterator[Any]:
        todo = [n for n in ctx.catalog.repos_to_fetch(cfg["stale_days"], limit=cfg["max_linked"])
                if n.lower() not in seen]
        ctx.details["linked"] = len(todo)
        for i, name in enumerate(todo):
            raw = self._get(ctx, gh, name, requested=name)
            seen.add(name.lower())
            if raw is not None:
                yield raw
            ctx.progress(i + 1, len(todo), "linked repositories")
            if (i + 1) % 100 == 0:
                yield Checkpoint(ctx.state)

    def _get(self, ctx, gh, name: str, requested: str | None = None) -> dict | None:
        """One repository; {"missing": ...} when GitHub has none of that name; None (reported)
        when GitHub fails for it. A rate limit stops the run (RateLimited)."""
        try:
            repo = gh.get_repo(name)
        except Exception as e:  # noqa: BLE001 - sorted out below
            if ghclient.is_not_found(e):
                return {"missing": name}
            err = ghclient.translate(e, name)
            if isinstance(err, ghclient.RateLimited):
                raise err from None
            ctx.details.setdefault("failed", []).append(str(err)[:300])
            ctx.log.warning("github: %s", err)
            return None
        return self._with_papers(ctx, repo, {"repo": ghclient.repo_raw(repo), "requested": requested})

    def _with_papers(self, ctx, repo, raw: dict) -> dict:
        """raw, with the arXiv ids the repository's README names as "readme_papers" when READMEs
        are read. A README is read again only after a push (pushed_at moved); without one,
        "readme_papers" is absent and the links the catalog has stay."""
        if not self._readmes:
            return raw
        data = raw["repo"]
        key, pushed = str(data.get("full_name") or "").lower(), data.get("pushed_at")
        cache = ctx.state.setdefault("readmes", {})  # saved with every checkpoint
        hit = cache.get(key)
        if hit and pushed and hit.get("pushed_at") == pushed:
            raw["readme_papers"] = hit["papers"]
            return raw
        try:
            readme = repo.get_readme().decoded_content[:MAX_README].decode("utf-8", "replace")
            papers = arxiv_ids(readme, bare=False)[:MAX_README_PAPERS]
        except Exception as e:  # noqa: BLE001 - sorted out below
            if ghclient.is_not_found(e):
                papers = []  # no README
            else:
                err = ghclient.translate(e, f"{data.get('full_name')}'s README")
                if isinstance(err, ghclient.RateLimited):
                    raise err from None
                ctx.details.setdefault("failed", []).append(str(err)[:300])
                ctx.log.warning("github: %s", err)
                return raw
        cache[key] = {"pushed_at": pushed, "papers": papers}
        ctx.details["readmes_read"] = ctx.details.get("readmes_read", 0) + 1
        raw["readme_papers"] = papers
        return raw

    def normalize(self, raw: dict) -> RepoRecord:
        return normalize_repo(raw, source=self.name)


def normalize_repo(raw: dict, source: str = "github") -> RepoRecord:
    """A repository record from repo_raw() output ({"repo": {...}}) or {"missing": "owner/name"}."""
    if raw.get("missing"):
        full_name = str(raw["missing"])
        if not valid_id("github_repo", full_name):
            raise SkipRecord("not a valid GitHub repository name", id_problem("github_repo", full_name))
        owner, name = full_name.split("/")
        return RepoRecord(id=f"github:{full_name}".lower(), source=source, full_name=full_name, owner=owner,
                          name=name, url=f"https://github.com/{full_name}", missing=True)
    data = raw.get("repo")
    if not isinstance(data, dict):
        raise SkipRecord("no repository")
    full_name = data.get("full_name")
    if not full_name and isinstance(data.get("owner"), str) and isinstance(data.get("name"), str):
        full_name = f"{data['owner']}/{data['name']}"  # old API answers had no full_name
    if not isinstance(full_name, str) or full_name.count("/") != 1:
        raise SkipRecord("no repository full_name")
    if not valid_id("github_repo", full_name):
        raise SkipRecord("not a valid GitHub repository name", id_problem("github_repo", full_name))
    # a linked name GitHub answers under another name (a renamed repository): keep the linked id,
    # so the links that name it resolve, and record where it lives now
    requested = text(raw.get("requested"))
    requested = requested if requested and valid_id("github_repo", requested) else None
    ident = f"github:{requested if requested and requested.lower() != full_name.lower() else full_name}".lower()
    owner, name = full_name.split("/")
    lic = data.get("license") if isinstance(data.get("license"), dict) else None
    spdx = text(lic.get("spdx_id"), 100) if lic else None
    topics = data.get("topics") if isinstance(data.get("topics"), list) else []
    rec = RepoRecord(
        id=ident,
        source=source,
        full_name=full_name,
        owner=text(data.get("owner")) or owner,
        name=text(data.get("name")) or name,
        description=text(data.get("description"), 2000),
        url=text(data.get("html_url")) or f"https://github.com/{full_name}",
        homepage=text(data.get("homepage")),
        stars=_first_int(data, "stargazers_count", "watchers"),  # "watchers" meant stars in the old API
        forks=_first_int(data, "forks_count", "forks"),
        open_issues=_first_int(data, "open_issues_count", "open_issues"),
        topics=[t for t in (text(t, 100) for t in topics) if t][:50],
        language=text(data.get("language"), 100),
        created_at=text(data.get("created_at"), 40),
        pushed_at=text(data.get("pushed_at"), 40),
        archived=_bool(data.get("archived")),
        fork=_bool(data.get("fork")),
        default_branch=text(data.get("default_branch"), 300),
        has_hubconf=_bool(data.get("has_hubconf")),
    )
    papers = raw.get("readme_papers")
    if isinstance(papers, list):  # read this run (else: None, the links stay as they are)
        rec.papers = [PaperLink(f"arxiv:{i}", "README")
                      for i in dict.fromkeys(p for p in papers if isinstance(p, str) and p and len(p) < 40)]
    # GitHub's spdx_id; NOASSERTION: a license file GitHub could not identify -> unknown
    if spdx and spdx != "NOASSERTION":
        rec.set_license(normalize_license(spdx))
    else:
        rec.set_license(normalize_license(None))
        rec.license_raw = spdx
    return rec


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _first_int(data: dict, *keys: str) -> int | None:
    return next((v for v in (_int(data.get(k)) for k in keys) if v is not None), None)


def _bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None
