"""PyTorch Hub: one catalog row per entrypoint of every Hub repository, `torchhub:<owner>/<repo>:<name>`.

The Hub's catalogue is the pytorch/hub GitHub repository: one markdown page per model, YAML front
matter naming the code repository (github-id). Each run, through the GitHub API (PyGithub):
  1. list pytorch/hub's top-level .md files; read the pages whose blob sha changed since the last
     run (the parsed pages are kept in the source's state, keyed by sha);
  2. for every repository a page names, and every repository the github source found with a
     hubconf.py: the repository (license, default branch), then its hubconf.py, parsed as text
     (indexer/parse/hubconf.py): never imported, never run. torch.hub.list would execute it.
  3. one row per public entrypoint, with the page's metadata. Names a page loads that the parsed
     hubconf does not show (a `from x import *`) are kept as documented entrypoints.

pytorch/vision's hubconf re-exports torchvision's builders (other hubconf files some): those rows
join the entity of the `torchvision:` row of the weights `pretrained=True` loads (torchvision's own mapping, see
torchvision.pretrained_weights), which carries the size and accuracy.

A page that cannot be parsed, a repository GitHub no longer has, a hubconf with a syntax error:
reported in the run's details and skipped. Rows are removed only after a run that read everything.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

from ..errors import SkipRecord
from ..normalize import normalize_task
from ..normalize.links import github_repo_ids
from ..normalize.task import task_from_text
from ..normalize.values import integer, text, texts
from ..parse.hubconf import HubconfError, parse_hubconf
from ..parse.hubpage import PageError, parse_page
from ..normalize.ids import valid_id
from ..records import ModelRecord, PaperLink, RepoLink
from . import ghclient
from .base import Checkpoint, FetchContext, Source
from .github import normalize_repo
from .torchvision import normalize_torchvision, pretrained_weights

NOT_PAGES = frozenset({"readme.md", "contributing.md", "code_of_conduct.md", "pull_request_template.md",
                       "license.md", "security.md", "changelog.md"})
# public callables that are helpers, not models (torchvision's hubconf imports get_weight)
_HELPER = re.compile(r"^(get|list|set|download|load|save|show|print)_|_(utils|transforms?|processing|tokenizer)$"
                     r"|^(utils|help|transforms?|tokenizer|config|processor)$", re.I)
MAX_DOC = 2000


class TorchHubSource(Source):
    name = "torchhub"
    needs_network = True
    full_listing = False  # rows vanish only after a complete run (see fetch)
    settings = {
        "hub_repo": (str, "pytorch/hub", "the repository holding the Hub's model pages"),
        "hub_ref": (str, "", "its branch or tag (default: its default branch)"),
        "catalog_repos": (bool, True, "also list the entrypoints of repositories the github source found with a hubconf.py"),
        **ghclient.SETTINGS,
    }
    package = "PyGithub"

    # ----------------------------------------------------------------- fetch
    def fetch(self, ctx: FetchContext) -> Iterator[Any]:
        cfg = self.resolved_settings(ctx)
        gh = ghclient.connect(ctx, cfg)
        problems: list[str] = []
        complete = True
        # parsed hubconf.py files by repository, with the pushed_at they were read at
        self._read_before, self._read_now = ctx.state.get("hubconfs") or {}, {}
        try:
            pages = self._pages(ctx, gh, cfg, problems)
            by_repo: dict[str, dict] = {}
            for page in pages:
                repo = page["meta"].get("github-id")
                if not repo:
                    problems.append(f"{page['path']}: no github-id or github-link: skipped")
                    continue
                by_repo.setdefault(repo.lower(), {"name": repo, "pages": []})["pages"].append(page)
            if cfg["catalog_repos"] and ctx.catalog is not None:
                for name in ctx.catalog.hubconf_repos():
                    by_repo.setdefault(name.lower(), {"name": name, "pages": []})
            ctx.details["pages"] = len(pages)
            ctx.details["repos"] = len(by_repo)
            yield Checkpoint(ctx.state)
            for i, (key, item) in enumerate(sorted(by_repo.items())):
                raw = self._repo(ctx, gh, item["name"], item["pages"], problems)
                if raw is None:
                    complete = False
                    continue
                yield raw
                ctx.progress(i + 1, len(by_repo), "repositories")
        except ghclient.RateLimited as e:
            complete = False
            ctx.details["stopped_early"] = str(e)
            ctx.log.warning("torchhub: %s; the rest waits for the next run", e)
        # a run that stopped early keeps what it did not reach for the next one
        ctx.state["hubconfs"] = self._read_now if complete else {**self._read_before, **self._read_now}
        if problems:
            ctx.details["problems"] = problems[:200]
            for p in problems[:20]:
                ctx.log.warning("torchhub: %s", p)
        if complete:
            ctx.listed_all_since = ctx.run_started or None

    def _pages(self, ctx, gh, cfg, problems) -> list[dict]:
        """Every model page of the Hub repository, parsed; unchanged ones from the state."""
        hub = cfg["hub_repo"]
        try:
            repo = gh.get_repo(hub)
            ref = cfg["hub_ref"] or repo.default_branch
            listing = repo.get_contents("", ref=ref)
        except Exception as e:  # noqa: BLE001
            raise ghclient.translate(e, f"the Hub's pages ({hub})") from None
        cache: dict = ctx.state.get("pages") or {}
        fresh: dict = {}
        out = []
        files = [f for f in (listing if isinstance(listing, list) else [listing])
                 if f.type == "file" and f.path.lower().endswith(".md") and f.path.lower() not in NOT_PAGES]
        for f in sorted(files, key=lambda f: f.path):
            hit = cache.get(f.path)
            if hit and hit.get("sha") == f.sha:
                fresh[f.path] = hit
            else:
                try:
                    content = repo.get_contents(f.path, ref=ref).decoded_content
                except Exception as e:  # noqa: BLE001
                    err = ghclient.translate(e, f"{hub}/{f.path}")
                    if isinstance(err, ghclient.RateLimited):
                        ctx.state["pages"] = {**cache, **fresh}
                        raise err from None
                    problems.append(f"{f.path}: {err}")
                    continue
                try:
                    parsed = parse_page(content, f.path)
                    fresh[f.path] = {"sha": f.sha, "page": parsed}
                except PageError as e:
                    fresh[f.path] = {"sha": f.sha, "error": str(e)}
            entry = fresh[f.path]
            if "error" in entry:
                problems.append(f"{entry['error']}: skipped")
                continue
            out.append({"path": f.path, "url": _page_url(f.path), **entry["page"]})
        ctx.state["pages"] = fresh  # pages gone from the repository leave the cache too
        return out

    def _repo(self, ctx, gh, name: str, pages: list[dict], problems: list[str]) -> dict | None:
        """One repository with its parsed hubconf.py; None when GitHub failed for it (reported)."""
        try:
            repo = gh.get_repo(name)
        except Exception as e:  # noqa: BLE001
            if ghclient.is_not_found(e):
                problems.append(f"{name}: GitHub has no such repository (named by "
                                f"{', '.join(p['path'] for p in pages) or 'the catalog'})")
                return {"missing": name, "pages": pages}
            err = ghclient.translate(e, name)
            if isinstance(err, ghclient.RateLimited):
                raise err from None
            problems.append(str(err))
            return None
        raw: dict[str, Any] = {"repo": ghclient.repo_raw(repo), "requested": name, "pages": pages}
        refs = [repo.default_branch] + [r for r in _page_refs(pages) if r != repo.default_branch]
        # pushed_at moves with every push to any branch: unchanged, hubconf.py is as it was read
        key, pushed = repo.full_name.lower(), raw["repo"].get("pushed_at")
        hit = self._read_before.get(key)
        if hit and pushed and hit.get("pushed_at") == pushed and hit.get("refs") == refs and "found" in hit:
            found = hit["found"]
            ctx.details["hubconf_unchanged"] = ctx.details.get("hubconf_unchanged", 0) + 1
        else:
            found = self._hubconf(repo, refs, problems)
            if found is None:
                return None
        self._read_now[key] = {"pushed_at": pushed, "refs": refs, "found": found}
        raw.update(found)
        if found["hubconf_error"]:
            problems.append(found["hubconf_error"])
        elif found["hubconf"] is None and pages:
            problems.append(f"{repo.full_name}: no hubconf.py (refs {', '.join(refs)})")
        # entrypoints that are torchvision's builders (pytorch/vision's hubconf is only those;
        # other repositories re-export some): the weights pretrained=True loads, as torchvision says
        builders = {e["name"]: e.get("imported") or e["name"] for e in (raw.get("hubconf") or {}).get("entrypoints", [])
                    if e.get("kind") == "import" and str(e.get("module") or "").split(".")[:2] == ["torchvision", "models"]}
        if builders:
            weights = pretrained_weights(sorted(set(builders.values())))
            raw["torchvision"] = {name: weights[b] for name, b in builders.items() if b in weights}
        return raw

    def _hubconf(self, repo, refs: list[str], problems: list[str]) -> dict | None:
        """{"ref", "hubconf" (parsed, or None), "hubconf_error"} from the first ref that has a
        hubconf.py; None when GitHub failed for it (reported)."""
        for ref in refs:
            try:
                content = repo.get_contents("hubconf.py", ref=ref).decoded_content
            except Exception as e:  # noqa: BLE001
                if ghclient.is_not_found(e):
                    continue
                err = ghclient.translate(e, f"{repo.full_name}/hubconf.py")
                if isinstance(err, ghclient.RateLimited):
                    raise err from None
                problems.append(str(err))
                return None
            try:
                return {"ref": ref, "hubconf": parse_hubconf(content, f"{repo.full_name}/hubconf.py",
                                                             read=_repo_reader(repo, ref)),
                        "hubconf_error": None}
            except HubconfError as e:
                return {"ref": ref, "hubconf": None, "hubconf_error": str(e)}
        return {"ref": None, "hubconf": None, "hubconf_error": None}  # no hubconf.py on any ref a page names

    # ----------------------------------------------------------------- normalize
    def normalize(self, raw: dict) -> list:
        return normalize_torchhub(raw)


def _repo_reader(repo, ref: str):
    """read(path) for parse_hubconf: another file of the repository at the same ref, or None. The
    root is listed once, so a module of an installed package (torchvision, timm) costs no request;
    a file GitHub fails to give is taken as absent (the name stays listed), a rate limit is raised."""
    top: set[str] | None = None

    def get(path: str):
        try:
            return repo.get_contents(path, ref=ref)
        except Exception as e:  # noqa: BLE001
            if ghclient.is_not_found(e):
                return None
            err = ghclient.translate(e, f"{repo.full_name}/{path}")
            if isinstance(err, ghclient.RateLimited):
                raise err from None
            return None

    def read(path: str) -> bytes | None:
        nonlocal top
        if top is None:
            listing = get("")
            top = {str(getattr(c, "name", "")) for c in listing} if isinstance(listing, list) else set()
        if path.split("/", 1)[0] not in top:
            return None
        found = get(path)
        return None if found is None or isinstance(found, list) else found.decoded_content
    return read


def _page_url(path: str) -> str:
    return f"https://pytorch.org/hub/{path.rsplit('/', 1)[-1].removesuffix('.md')}/"


def _page_refs(pages: list[dict]) -> list[str]:
    refs: list[str] = []
    for page in pages:
        for load in page.get("loads") or []:
            if load.get("ref") and load["ref"] not in refs:
                refs.append(load["ref"])
    return refs


def _doc(text: str | None) -> str | None:
    """A docstring's first paragraph, on one line."""
    if not text:
        return None
    para = text.strip().split("\n\n", 1)[0]
    return " ".join(para.split())[:MAX_DOC] or None


def _page_task(page: dict) -> tuple[str, str] | None:
    meta = page["meta"]
    return task_from_text(" ".join(x for x in (meta.get("title"), meta.get("summary")) if x))


def _dicts(v) -> list[dict]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _clean_page(p: dict) -> dict:
    """A Hub page record with every field of the type the normalizer reads (else left out)."""
    meta = p.get("meta") if isinstance(p.get("meta"), dict) else {}
    meta = {k: (text(v, 2000) if k != "tags" else texts(v, 100, most=40)) for k, v in meta.items()
            if isinstance(k, str) and (isinstance(v, str) or k == "tags")}
    return {"url": text(p.get("url"), 2000), "path": text(p.get("path"), 500), "meta": meta,
            "text": text(p.get("text"), 200_000), "arxiv": texts(p.get("arxiv"), 40, most=50),
            "loads": [{"name": x["name"]} for x in _dicts(p.get("loads")) if text(x.get("name"), 200)]}


def _clean_entrypoint(e: dict) -> dict:
    return {"name": text(e.get("name"), 200), "kind": text(e.get("kind"), 40), "module": text(e.get("module"), 300),
            "docstring": text(e.get("docstring"), 20_000), "params": texts(e.get("params"), 100, most=50),
            "line": integer(e.get("line"))}


def normalize_torchhub(raw: dict) -> list:
    """[RepoRecord, ModelRecord per entrypoint] for one Hub repository."""
    pages = [_clean_page(p) for p in _dicts(raw.get("pages"))]
    repo_rec = normalize_repo(raw, source="torchhub")
    if raw.get("missing"):
        return [repo_rec]
    hubconf = raw.get("hubconf") if isinstance(raw.get("hubconf"), dict) else None
    if hubconf is not None:
        hubconf = {"entrypoints": [c for c in (_clean_entrypoint(e) for e in _dicts(hubconf.get("entrypoints")))
                                   if c["name"]],
                   "dependencies": texts(hubconf.get("dependencies"), 100, most=50)}
    repo_rec.has_hubconf = hubconf is not None or bool(raw.get("hubconf_error"))
    full_name = repo_rec.full_name
    entrypoints = list((hubconf or {}).get("entrypoints") or [])
    listed = {e["name"] for e in entrypoints}
    # names the pages load that the parsed file does not show
    for page in pages:
        for load in page.get("loads") or []:
            name = load["name"]
            if name not in listed and (hubconf is not None or raw.get("hubconf_error")) and not name.startswith("_"):
                listed.add(name)
                entrypoints.append({"name": name, "kind": "documented", "docstring": None, "module": None,
                                    "params": [], "line": None})
    weights = raw.get("torchvision") if isinstance(raw.get("torchvision"), dict) else {}
    deps = (hubconf or {}).get("dependencies") or []
    out: list = [repo_rec]
    for e in entrypoints:
        if not valid_id("torchhub", f"{full_name}:{e['name']}"):  # not a Python name: no entrypoint
            continue
        out.append(_entrypoint(e, full_name, repo_rec, pages, weights, deps, text(raw.get("ref"), 300)))
    if not entrypoints and not pages:
        raise SkipRecord(f"{full_name}: no hubconf.py and no Hub page")
    return out


def _entrypoint(e: dict, full_name: str, repo_rec, pages: list[dict], weights: dict, deps: list, ref) -> ModelRecord:
    name = e["name"]
    # the page that loads this entrypoint; else the repository's only page
    loading = next((p for p in pages if any(ld["name"] == name for ld in p.get("loads") or [])), None)
    page = loading or (pages[0] if len(pages) == 1 else None)
    meta = page["meta"] if page else {}
    helper = bool(_HELPER.search(name))
    task, task_raw = None, None
    if not helper:
        if e.get("kind") == "import" and e.get("module"):
            task, task_raw = normalize_task(e["module"]), e["module"]
        # the page that loads it, its own docstring, then the repository's only page
        if task is None and loading:
            hit = _page_task(loading)
            if hit:
                task, task_raw = hit
        if task is None:
            hit = task_from_text(e.get("docstring"), earliest=True)
            if hit:
                task, task_raw = hit
        if task is None and page and page is not loading:
            hit = _page_task(page)
            if hit:
                task, task_raw = hit
        if task is None and page:
            hit = task_from_text(page.get("text"), earliest=True)
            if hit:
                task, task_raw = hit
    links = [RepoLink(repo_rec.id, f"https://github.com/{full_name}")]
    for ident, written in github_repo_ids(meta.get("github-link")):
        if ident not in {x.repo_id for x in links}:
            links.append(RepoLink(ident, meta["github-link"]))
    # the weights pretrained=True loads, as the torchvision source makes their row: what this
    # entrypoint loads has the same size, training data, accuracy and preprocessing
    tv = None
    if isinstance(weights.get(name), dict):
        with contextlib.suppress(SkipRecord):
            tv = normalize_torchvision(weights[name])
    extra = {k: v for k, v in {
        "kind": e.get("kind"),
        "module": e.get("module"),
        "params": e.get("params") or None,
        "line": e.get("line"),
        "dependencies": deps or None,
        "ref": ref,
        "page": page["url"] if page else None,
        "page_title": meta.get("title"),
        "category": meta.get("category"),
        "accelerator": meta.get("accelerator"),
        "demo": meta.get("demo-model-link"),
        "github_link": meta.get("github-link"),
        "helper": helper or None,
        "torchvision_weights": tv.id if tv else None,
    }.items() if v not in (None, [], "")}
    rec = ModelRecord(
        id=f"torchhub:{full_name}:{name}",
        source="torchhub",
        name=f"{full_name}:{name}",
        author=repo_rec.owner,
        task=task,
        task_raw=task_raw,
        library="torch.hub",
        url=page["url"] if page else f"https://github.com/{full_name}/blob/{ref or 'HEAD'}/hubconf.py",
        description=_doc(e.get("docstring")) or meta.get("summary"),
        tags=list(dict.fromkeys([*(meta.get("tags") or []), *([meta["category"]] if meta.get("category") else [])])),
        architecture=name,
        entity_id=tv.id if tv else None,
        extra=extra,
        papers=[PaperLink(f"arxiv:{i}", f"{page['path']}") for i in (page.get("arxiv") or [])] if page else [],
        repos=links,
    )
    rec.license, rec.license_raw = repo_rec.license, repo_rec.license_raw
    rec.license_family, rec.is_open = repo_rec.license_family, repo_rec.is_open
    if tv is not None:
        for field in _WEIGHTS_FACTS:
            setattr(rec, field, getattr(tv, field))
        rec.papers += [p for p in tv.papers if p.paper_id not in {x.paper_id for x in rec.papers}]
    return rec


# what a torchhub row of torchvision weights takes from their torchvision row: facts of the
# weights file (the license too: the weights', where the repository's is on its own row)
_WEIGHTS_FACTS = ("num_params", "size_bytes", "size_is_estimate", "weights", "input_size", "mean", "std",
                  "crop_pct", "interpolation", "num_classes", "datasets", "metrics", "license", "license_raw",
                  "license_family", "is_open", "license_name")
