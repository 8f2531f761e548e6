"""Conformance tier: the PyTorch Hub, GitHub and arXiv code against real recorded data in ../shared.

Skipped where ../shared is absent; under CI=true it must run (the `shared_fixtures` fixture fails).
"""

import ast
import json
import threading

import pytest
from dbrows import rows
from replay.server import LocalServer, QuietHandler, QuietServer

from indexer.parse.hubconf import parse_hubconf
from indexer.parse.hubpage import PageError, parse_page
from indexer.sources.arxiv import _client, normalize_arxiv, result_raw
from indexer.sources.github import normalize_repo
from indexer.sources.torchhub import normalize_torchhub
from indexer.sources.torchvision import pretrained_weights

pytestmark = pytest.mark.conformance

NOT_PAGES = {"README.md", "CONTRIBUTING.md"}


def pages(shared):
    return sorted((shared / "pytorch_hub" / "md").glob("*.md"))


def test_every_real_hub_page_parses(shared_fixtures):
    files = pages(shared_fixtures)
    assert len(files) == 55  # 52 model pages, the docs template, README.md, CONTRIBUTING.md
    parsed = {}
    for path in files:
        if path.name in NOT_PAGES:
            with pytest.raises(PageError, match="no front matter"):
                parse_page(path.read_bytes(), path.name)
            continue
        parsed[path.name] = parse_page(path.read_bytes(), path.name)
    models = {k: v for k, v in parsed.items() if k != "docs_template.md"}
    assert len(models) == 52
    for name, page in models.items():
        meta = page["meta"]
        assert meta["title"] and meta.get("github-id", "").count("/") == 1, name
        assert all(isinstance(t, str) and t == t.lower() for t in meta.get("tags", [])), name
    with_loads = [k for k, v in models.items() if v["loads"]]
    assert len(with_loads) >= 48
    assert {x["name"] for x in models["pytorch_vision_resnet.md"]["loads"]} == {
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}
    assert models["nvidia_deeplearningexamples_efficientnet.md"]["loads"][0]["ref"] == "torchhub"
    # curly quotes and odd YAML in real pages still give the author
    assert models["pytorch_vision_ghostnet.md"]["meta"]["author"] == "Huawei Noah's Ark Lab"
    papers = {i for v in models.values() for i in v["arxiv"]}
    assert "1512.03385" in papers and len(papers) >= 20


@pytest.mark.parametrize("page, names, task", [
    ("pytorch_vision_resnet.md", {"resnet18", "resnet152"}, "image-classification"),
    ("ultralytics_yolov5.md", {"yolov5s"}, "object-detection"),
    ("pytorch_vision_deeplabv3_resnet101.md", {"deeplabv3_resnet101"}, "image-segmentation"),
    ("snakers4_silero-models_stt.md", {"silero_stt"}, "automatic-speech-recognition"),
    ("nvidia_deeplearningexamples_tacotron2.md", {"nvidia_tacotron2"}, "text-to-speech"),
    ("pytorch_fairseq_translation.md", {"transformer.wmt14.en-fr"}, "translation"),
    ("facebookresearch_pytorchvideo_slowfast.md", {"slowfast_r50"}, "video-classification"),
])
def test_real_pages_give_entrypoint_tasks(shared_fixtures, page, names, task):
    parsed = parse_page((shared_fixtures / "pytorch_hub" / "md" / page).read_bytes(), page)
    raw = {"repo": {"full_name": parsed["meta"]["github-id"], "license": {"spdx_id": "MIT"}},
           "pages": [{"path": page, "url": f"https://pytorch.org/hub/{page[:-3]}/", **parsed}],
           "hubconf": {"entrypoints": [], "dependencies": []}, "ref": "main"}
    repo, *rows = normalize_torchhub(raw)
    assert repo.has_hubconf is True and repo.license == "mit"
    by = {r.architecture: r for r in rows}
    assert names <= set(by)
    for n in names:
        assert by[n].task == task and by[n].extra["kind"] == "documented"
        assert by[n].id == f"torchhub:{parsed['meta']['github-id']}:{n}"


def test_real_pytorch_vision_hubconf(shared_fixtures):
    source = (shared_fixtures / "pytorch_hub" / "pytorch_vision_hubconf.py.txt").read_text()
    h = parse_hubconf(source, "pytorch/vision/hubconf.py")
    names = [e["name"] for e in h["entrypoints"]]
    assert h["dependencies"] == ["torch"] and h["warnings"] == []
    # what torch.hub.list would print: every public name the imports bind
    expected = [a.asname or a.name for node in ast.parse(source).body if isinstance(node, ast.ImportFrom)
                for a in node.names if not (a.asname or a.name).startswith("_")]
    assert sorted(names) == sorted(set(expected)) and len(names) >= 80
    assert all(e["kind"] == "import" and e["module"].startswith("torchvision.models") for e in h["entrypoints"])
    raw = {"repo": {"full_name": "pytorch/vision", "license": {"spdx_id": "BSD-3-Clause"}}, "pages": [],
           "hubconf": h, "ref": "main", "torchvision": pretrained_weights(["resnet18"])}
    repo, *rows = normalize_torchhub(raw)
    by = {r.architecture: r for r in rows}
    assert by["resnet18"].entity_id == "torchvision:resnet18.IMAGENET1K_V1"
    assert by["resnet18"].task == "image-classification" and by["resnet18"].license_family == "permissive"
    assert by["deeplabv3_resnet50"].task == "image-segmentation"
    assert by["get_weight"].task is None and by["get_weight"].extra["helper"] is True


# ---------------------------------------------------------------------- GitHub recordings
def replay_exchanges(path):
    """(verb, path, status, headers, body) of a PyGithub ReplayData file (11-line records)."""
    lines = path.read_text().split("\n")
    out = []
    for i in range(0, len(lines) - 10, 11):
        if lines[i] not in ("http", "https"):
            break
        headers = dict((k.lower(), v) for k, v in ast.literal_eval(lines[i + 8]))
        out.append((lines[i + 1], lines[i + 4], int(lines[i + 7]), headers, lines[i + 9]))
    return out


@pytest.mark.parametrize("name", ["Pickle.testPickleRepository.txt", "Github.testGetRepoFromFullName.txt"])
def test_recorded_repositories_normalize(shared_fixtures, name):
    [(verb, path, status, _, body)] = [x for x in replay_exchanges(shared_fixtures / "github" / name)
                                       if x[1].startswith("/repos/")][:1]
    data = json.loads(body)
    from types import SimpleNamespace

    from indexer.sources.ghclient import repo_raw

    rec = normalize_repo({"repo": repo_raw(SimpleNamespace(raw_data=data))})
    full_name = data.get("full_name") or f"{data['owner']['login']}/{data['name']}"  # 2012: no full_name
    assert rec.id == f"github:{full_name}".lower() and rec.full_name == full_name
    assert rec.stars == data.get("stargazers_count", data.get("watchers")) or rec.stars == data.get("watchers")
    assert rec.url == data["html_url"] and rec.description == data["description"]
    lic = data.get("license")
    if lic:
        assert rec.license_raw == lic["spdx_id"] and rec.license != "unknown" and rec.is_open
    else:
        assert rec.license == "unknown" and rec.license_raw is None


def test_recorded_search_items_normalize(shared_fixtures):
    ex = replay_exchanges(shared_fixtures / "github" / "Search.testSearchRepos.txt")
    items = [it for _, p, _, _, body in ex if p.startswith("/search/repositories") for it in json.loads(body)["items"]]
    assert len(items) > 30
    from types import SimpleNamespace

    from indexer.sources.ghclient import repo_raw

    recs = [normalize_repo({"repo": repo_raw(SimpleNamespace(raw_data=it))}) for it in items]
    assert all(r.id.startswith("github:") and r.stars is not None and r.language for r in recs)
    assert len({r.id for r in recs}) == len(recs)


class ReplayData(LocalServer):
    """PyGithub's recorded exchanges, served as GitHub would: a request is answered by the
    recording of the same verb, path (in any case, as GitHub's names) and query (per_page aside:
    the client asks for its own page size), with api.github.com rewritten to this server;
    anything else is a 404 and is noted in `unmatched`."""

    def __init__(self, *files):
        self.routes, self.asked, self.unmatched = {}, [], []
        for f in files:
            for verb, path, status, headers, body in replay_exchanges(f):
                self.routes[self._key(verb, path)] = (status, headers, body)

    @staticmethod
    def _key(verb, path):
        from urllib.parse import parse_qsl, urlsplit

        parts = urlsplit(path)  # GitHub's owner and repository names ignore case
        return verb, parts.path.lower(), tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if k != "per_page"))

    def handler(self):
        replay = self

        class H(QuietHandler):
            def do_GET(self):
                replay.asked.append(self.path)
                hit = replay.routes.get(replay._key("GET", self.path))
                if hit is None:
                    replay.unmatched.append(self.path)
                    hit = (404, {"content-type": "application/json"}, '{"message": "Not Found"}')
                status, headers, body = hit
                data = body.replace("https://api.github.com", replay.url).encode()
                self.send_response(status)
                for k, v in headers.items():
                    if k not in ("content-length", "transfer-encoding", "content-encoding", "connection", "status"):
                        self.send_header(k, v.replace("https://api.github.com", replay.url))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return H


def test_recorded_search_pages_through_the_github_source(shared_fixtures, tmp_path, monkeypatch):
    """Two real result pages, followed by their real Link headers, through PyGithub and the source."""
    from indexer.refresh import refresh

    recorded = shared_fixtures / "github" / "Search.testSearchRepos.txt"
    items = [it for _, p, _, _, body in replay_exchanges(recorded) for it in json.loads(body)["items"]]
    with ReplayData(recorded) as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        [res] = refresh(tmp_path / "c.db", ["github"], config={"github": {
            "queries": ["github language:Python"], "max_results": 45, "linked": False,
            "seconds_between_requests": 0, "max_rate_limit_wait": 5}})
        assert res.status == "ok", res.error
        assert server.unmatched == [] and len(server.asked) == 2  # page 2 read for results 31-45, no page 3
    assert res.details["searches"] == {"github language:Python": 45}
    got = {r["id"]: r for r in rows(tmp_path / "c.db", "SELECT * FROM repos")}
    assert set(got) == {f"github:{it['full_name']}".lower() for it in items[:45]}
    for it in items[:45]:
        row = got[f"github:{it['full_name']}".lower()]
        assert (row["stars"], row["forks"], row["language"]) == (it["stargazers_count"], it["forks_count"], it["language"])
        assert row["url"] == it["html_url"] and row["source"] == "github" and row["fetched_at"]


def test_recorded_repositories_and_a_404_through_the_github_source(shared_fixtures, tmp_path, monkeypatch,
                                                                   list_source):
    """Linked repositories read with the real answers of 2023 and 2012; a real 404 is kept, missing."""
    from indexer.refresh import refresh

    d = shared_fixtures / "github"
    modern = json.loads(next(b for _, p, _, _, b in replay_exchanges(d / "Pickle.testPickleRepository.txt")
                             if p == "/repos/PyGithub/PyGithub"))
    db = tmp_path / "c.db"
    list_source("links", [{"name": "m", "repos": ["https://github.com/PyGithub/PyGithub",
                                                   "https://github.com/jacquev6/PyGithub",
                                                   "https://github.com/jacquev6/Xxx"]}])
    refresh(db, ["links"])
    with ReplayData(d / "Pickle.testPickleRepository.txt", d / "Github.testGetRepoFromFullName.txt",
                    d / "Exceptions.testUnknownObject.txt") as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        [res] = refresh(db, ["github"], config={"github": {"queries": [], "seconds_between_requests": 0,
                                                            "max_rate_limit_wait": 5}})
        assert res.status == "ok", res.error
        assert server.unmatched == []
    repos = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    new = repos["github:pygithub/pygithub"]
    assert (new["full_name"], new["stars"], new["license"], new["license_family"]) == (
        "PyGithub/PyGithub", modern["stargazers_count"], "lgpl-3.0", "copyleft")
    assert json.loads(new["topics"]) == modern["topics"] and new["pushed_at"].endswith("Z")
    old = repos["github:jacquev6/pygithub"]  # 2012: no full_name, stars under "watchers", no license
    assert old["full_name"] == "jacquev6/PyGithub" and old["stars"] is not None and old["license"] == "unknown"
    gone = repos["github:jacquev6/xxx"]
    assert gone["missing"] == 1 and gone["fetched_at"] and gone["stars"] is None
    assert len(rows(db, "SELECT * FROM model_repos")) == 3  # the links stay


# ---------------------------------------------------------------------- arXiv recordings
def serve_bodies(routes, log=None):
    """A server answering GET /api/query by the id_list / search_query it is asked for (noted in
    `log` when given)."""

    class H(QuietHandler):
        def do_GET(self):
            from urllib.parse import parse_qs, urlsplit

            q = parse_qs(urlsplit(self.path).query)
            key = q.get("id_list", q.get("search_query", [""]))[0]
            if log is not None:
                log.append(key)
            start = q.get("start", ["0"])[0]
            status, body = routes.get((key, start), routes.get(key, (404, b"")))
            self.send_response(status)
            self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = QuietServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_recorded_arxiv_feeds_through_the_real_client(shared_fixtures):
    import arxiv

    d = shared_fixtures / "arxiv"
    routes = {
        "1707.08567": (200, (d / "query_id_list_1707.08567.xml").read_bytes()),
        "0000.0000": (200, (d / "query_id_list_0000.0000_empty.xml").read_bytes()),
        "abc": (400, (d / "query_id_list_abc_error_400.xml").read_bytes()),
        ("testing", "0"): (200, (d / "query_search_testing_start0_max10.xml").read_bytes()),
    }
    server = serve_bodies(routes)
    try:
        client = _client(f"http://127.0.0.1:{server.server_address[1]}/api/query", 10, 0, 0)
        [r] = list(client.results(arxiv.Search(id_list=["1707.08567"])))
        p = normalize_arxiv(result_raw(r))
        assert p.id == "arxiv:1707.08567" and p.version and p.title and p.authors and p.abstract
        assert p.published and p.published.endswith("Z") and p.primary_category in p.categories
        assert p.pdf_url.startswith("http") and p.url == "https://arxiv.org/abs/1707.08567"
        assert list(client.results(arxiv.Search(id_list=["0000.0000"]))) == []
        with pytest.raises(arxiv.HTTPError) as e:
            list(client.results(arxiv.Search(id_list=["abc"])))
        assert e.value.status == 400
        found = list(client.results(arxiv.Search(query="testing", max_results=10)))
        papers = [normalize_arxiv(result_raw(r)) for r in found]
        assert len(papers) == 10 and len({p.id for p in papers}) == 10
        assert any(p.doi for p in papers) and any(p.journal_ref for p in papers) and any(p.comment for p in papers)
        # non-ASCII author names survive exactly (the feed is UTF-8)
        authors = {a for p in papers for a in p.authors}
        assert {"Aurora Ram\u00edrez", "Jos\u00e9 Ra\u00fal Romero"} <= authors
    finally:
        server.shutdown()


def recorded_id_lookups(shared):
    """{id_list: (status, body)} of arxiv.py's recorded id_list queries (bodies stored as latin-1)."""
    from urllib.parse import parse_qs, urlsplit

    out = {}
    for f in sorted((shared / "arxiv" / "arxiv.py-tests-fixtures").glob("id_*.json")):
        rec = json.loads(f.read_text())
        q = parse_qs(urlsplit(rec["url"]).query)
        if q.get("start", ["0"])[0] == "0":
            out[q["id_list"][0]] = (rec["status_code"], rec["body"].encode("latin-1"))
    return out


def run_arxiv_on_recordings(shared, tmp_path, monkeypatch, list_source, papers, batch_size):
    """A catalog whose model names `papers`, refreshed by the arxiv source against the recorded
    answers; (result, the id_lists asked, {paper id: row})."""
    from indexer.refresh import refresh

    server = serve_bodies(recorded_id_lookups(shared), log=(log := []))
    db = tmp_path / "c.db"
    list_source("m", [{"name": "a", "papers": papers}])
    refresh(db, ["m"])
    monkeypatch.setenv("ARXIV_API_URL", f"http://127.0.0.1:{server.server_address[1]}/api/query")
    try:
        [res] = refresh(db, ["arxiv"], config={"arxiv": {"delay_seconds": 0, "retries": 0,
                                                          "batch_size": batch_size}})
    finally:
        server.shutdown()
    assert res.status == "ok", res.error
    return res, log, {r["id"]: r for r in rows(db, "SELECT * FROM papers")}


def test_recorded_lookups_through_the_arxiv_source(shared_fixtures, tmp_path, monkeypatch, list_source):
    """Real answers, one id a request: new- and old-style ids, an id arXiv returns nothing for,
    a non-ASCII author."""
    res, asked, papers = run_arxiv_on_recordings(
        shared_fixtures, tmp_path, monkeypatch, list_source,
        ["1707.08567", "0808.05394", "astro-ph/0601001", "1605.08386"], batch_size=1)
    assert sorted(asked) == ["0808.05394", "1605.08386", "1707.08567", "astro-ph/0601001"]
    assert (res.details["found"], res.details["missing"]) == (3, 1)
    p = papers["arxiv:1707.08567"]
    assert "Dirk W\u00fcbben" in json.loads(p["authors"]) and p["version"] == 1 and p["title"]
    old = papers["arxiv:astro-ph/0601001"]
    assert old["arxiv_id"] == "astro-ph/0601001" and old["primary_category"].startswith("astro-ph") and old["title"]
    assert old["url"] == "https://arxiv.org/abs/astro-ph/0601001" and old["version"] == 1
    assert papers["arxiv:1605.08386"]["title"] and not papers["arxiv:1605.08386"]["missing"]
    gone = papers["arxiv:0808.05394"]
    assert gone["missing"] == 1 and gone["title"] is None and gone["fetched_at"]


def test_recorded_batch_with_an_id_arxiv_does_not_have(shared_fixtures, tmp_path, monkeypatch, list_source):
    """One real id_list request for two ids; arXiv answers one entry: the other is marked missing."""
    res, asked, papers = run_arxiv_on_recordings(shared_fixtures, tmp_path, monkeypatch, list_source,
                                                 ["1707.08567", "0808.05394"], batch_size=100)
    assert asked == ["0808.05394,1707.08567"]
    assert (res.details["found"], res.details["missing"]) == (1, 1)
    assert papers["arxiv:1707.08567"]["title"] and papers["arxiv:1707.08567"]["fetched_at"]
    assert papers["arxiv:0808.05394"]["missing"] == 1


def test_a_recorded_readme_through_the_github_source(shared_fixtures, tmp_path, monkeypatch, list_source):
    """GitHub's real README answer (base64 content) is read and decoded for its arXiv links."""
    from indexer.refresh import refresh

    d = shared_fixtures / "github"
    db = tmp_path / "c.db"
    list_source("links", [{"name": "m", "repos": ["https://github.com/PyGithub/PyGithub"]}])
    refresh(db, ["links"])
    with ReplayData(d / "Pickle.testPickleRepository.txt", d / "Repository.testGetContents.txt") as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_conformance_0000000000000000000000000000")
        [res] = refresh(db, ["github"], config={"github": {"queries": [], "hubconf_search": False,
                                                            "seconds_between_requests": 0, "max_rate_limit_wait": 5}})
        assert res.status == "ok", res.error
        assert server.unmatched == [] and "/repos/PyGithub/PyGithub/readme" in server.asked
    assert res.details["readmes_read"] == 1 and "failed" not in res.details
    # PyGithub's README names no arXiv paper: read, and no link made
    assert rows(db, "SELECT count(*) AS n FROM paper_repos") == [{"n": 0}]
