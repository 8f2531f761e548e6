"""The GitHub source against a local GitHub replay, through the real PyGithub client."""


import pytest

from dbrows import rows
from indexer.refresh import refresh
from indexer.sources.github import normalize_repo
from replay.github import GitHubReplay, repo_json
from replay.world import build_github

QUERIES = ["pretrained image classification", "topic:pretrained-models", "topic:image-classification language:Python"]
CFG = {"github": {"queries": QUERIES, "max_rate_limit_wait": 5, "seconds_between_requests": 0}}
TOKEN = "ghp_test_token_that_must_never_be_stored_0123456789"


@pytest.fixture
def gh(monkeypatch):
    with GitHubReplay() as replay:
        build_github(replay)
        monkeypatch.setenv("GITHUB_API_URL", replay.url)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        yield replay


def run(db, cfg=CFG):
    [res] = refresh(db, ["github"], config=cfg)
    return res


def test_searches_fill_the_repos_table(gh, tmp_path):
    db = tmp_path / "c.db"
    res = run(db)
    assert res.status == "ok", res.error
    repos = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    eff = repos["github:lukemelas/efficientnet-pytorch"]
    assert (eff["full_name"], eff["stars"], eff["license"], eff["license_family"], eff["is_open"]) == (
        "lukemelas/EfficientNet-PyTorch", 7800, "apache-2.0", "permissive", 1)
    assert eff["language"] == "Python" and '"image-classification"' in eff["topics"] and eff["archived"] == 0
    assert eff["pushed_at"].endswith("Z") and eff["source"] == "github" and eff["fetched_at"]
    assert eff["has_hubconf"] is None  # not known without the code search
    silero = repos["github:snakers4/silero-models"]
    assert (silero["license"], silero["license_raw"], silero["is_open"]) == ("unknown", "NOASSERTION", 0)
    assert repos["github:someone/pretrained-classifiers-archive"]["archived"] == 1
    assert repos["github:someone/pretrained-classifiers-archive"]["license_family"] == "copyleft"
    assert "github:pytorch/hub" not in repos  # no search matches it
    assert res.details["searches"]["topic:pretrained-models"] == 5
    assert res.details["hubconf_search"].startswith("skipped: GitHub's code search needs GITHUB_TOKEN")
    # a search hit already holds every field kept: no GET /repos/... per hit (anonymous GitHub
    # allows 60 requests an hour)
    assert gh.count("/repos/") == 0 and gh.count("/search/repositories") == len(QUERIES)
    # full-text search over repositories
    hits = rows(db, "SELECT r.id FROM repos_fts JOIN repos r ON r.rowid = repos_fts.rowid "
                    "WHERE repos_fts MATCH 'efficientnet'")
    assert hits == [{"id": "github:lukemelas/efficientnet-pytorch"}]


def test_code_search_with_a_token_marks_hubconf_repos_and_the_token_is_never_stored(gh, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    db = tmp_path / "c.db"
    res = run(db)
    assert res.status == "ok", res.error
    assert res.details["authenticated"] is True and res.details["hubconf_search"] == 5
    hub = {r["id"] for r in rows(db, "SELECT id FROM repos WHERE has_hubconf = 1")}
    assert hub == {"github:pytorch/vision", "github:acme/tinynets", "github:snakers4/silero-models",
                   "github:oops/badconf", "github:lukemelas/efficientnet-pytorch"}
    # read in full (the code search's short repository object has no stars or license)
    assert rows(db, "SELECT stars, license FROM repos WHERE id = 'github:pytorch/vision'") == [
        {"stars": 16000, "license": "bsd-3-clause"}]
    assert all(r["auth"] and TOKEN in r["auth"] for r in gh.requests)
    for path in tmp_path.iterdir():  # the catalog, its WAL, the lock file
        assert TOKEN.encode() not in path.read_bytes()


def test_linked_repositories_are_read_and_missing_ones_marked(gh, tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("links", [
        {"name": "a", "repos": ["https://github.com/facebookresearch/deit/blob/main/README.md"]},
        {"name": "b", "repos": ["https://github.com/nobody/vanished"]},
        {"name": "c", "repos": ["git@github.com:Google-Research/Vision_Transformer.git"]},
    ])
    refresh(db, ["links"])
    stubs = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    assert stubs["github:facebookresearch/deit"]["fetched_at"] is None and stubs["github:facebookresearch/deit"][
        "source"] is None
    res = run(db, {"github": {"queries": [], "max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert res.status == "ok", res.error
    assert res.details["linked"] == 3
    repos = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    assert repos["github:facebookresearch/deit"]["stars"] == 4000
    assert repos["github:google-research/vision_transformer"]["full_name"] == "google-research/vision_transformer"
    assert repos["github:nobody/vanished"]["missing"] == 1 and repos["github:nobody/vanished"]["fetched_at"]
    # the links stay
    assert len(rows(db, "SELECT * FROM model_repos")) == 3
    # read now: not again until stale
    gh.reset_log()
    res = run(db, {"github": {"queries": [], "max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert res.details["linked"] == 0 and gh.count("/repos/") == 0


def test_a_search_answer_keeps_what_the_torchhub_source_knows(gh, tmp_path):
    """has_hubconf from the torchhub source survives a search hit that does not know it."""
    db = tmp_path / "c.db"
    refresh(db, ["torchhub"], config={"torchhub": {"max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert rows(db, "SELECT has_hubconf FROM repos WHERE id = 'github:acme/tinynets'") == [{"has_hubconf": 1}]
    run(db)
    [r] = rows(db, "SELECT has_hubconf, source FROM repos WHERE id = 'github:acme/tinynets'")
    assert r == {"has_hubconf": 1, "source": "github"}
    second = run(db)
    assert second.counts.updated == 0  # the two sources do not make each other rewrite it


def test_failing_search_is_reported_and_others_go_on(gh, tmp_path):
    db = tmp_path / "c.db"
    res = run(db, {"github": {"queries": ["topic:pretrained-models", "bogus:qualifier"], "max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert res.status == "ok"
    assert "bogus:qualifier" in res.details["failed_searches"][0] and "422" in res.details["failed_searches"][0]
    assert rows(db, "SELECT count(*) AS n FROM repos") == [{"n": 5}]
    res = run(db, {"github": {"queries": ["bogus:qualifier"], "max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert res.status == "failed" and "every GitHub search failed" in res.error
    assert rows(db, "SELECT count(*) AS n FROM repos") == [{"n": 5}]  # nothing lost


def test_server_errors_are_retried(gh, tmp_path):
    gh.fail_next(2, status=502, path_prefix="/search/repositories")
    db = tmp_path / "c.db"
    res = run(db, {"github": {"queries": ["topic:pretrained-models"], "max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert res.status == "ok" and res.details["searches"]["topic:pretrained-models"] == 5


def test_unreachable_api_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_API_URL", "https://api.github.invalid")
    results = refresh(tmp_path / "c.db", ["github", "torchhub"])
    assert [r.status for r in results] == ["unavailable", "unavailable"]
    assert all("GITHUB_API_URL" in r.error for r in results)


def test_normalize_repo_shapes():
    rec = normalize_repo({"repo": {"full_name": "Owner/Name", "license": {"spdx_id": "MIT"}, "stargazers_count": 5,
                                   "topics": ["a"], "archived": False, "fork": True, "owner": "Owner"}})
    assert (rec.id, rec.license, rec.stars, rec.fork, rec.url) == (
        "github:owner/name", "mit", 5, True, "https://github.com/Owner/Name")
    assert normalize_repo({"repo": {"full_name": "a/b", "license": None}}).license == "unknown"
    moved = normalize_repo({"repo": {"full_name": "new/name"}, "requested": "old/name"})
    assert moved.id == "github:old/name" and moved.full_name == "new/name"
    from indexer.errors import SkipRecord

    with pytest.raises(SkipRecord):
        normalize_repo({"repo": {"full_name": "no-slash"}})
    with pytest.raises(SkipRecord):
        normalize_repo({"missing": "a/b/c"})


def test_hostile_repository_fields_are_stored_as_unknown_not_fatal(gh, tmp_path):
    """A search hit with every field of the wrong type (as a broken proxy or a changed API might
    send) is stored with what can be kept; the other hits of the search are not lost."""
    data = repo_json("evil/pretrained-everything", description="pretrained image classification")
    data.update(language={"x": 1}, homepage=[1, 2], html_url=5, default_branch=["main"], topics="not-a-list",
                license="MIT", stargazers_count="12", watchers="12", forks_count=None, forks=None, archived="yes", fork=0,
                created_at={"when": "now"}, pushed_at=12345, name=None, owner=None, open_issues_count=2.5, open_issues="2")
    gh.add_repo(data)
    db = tmp_path / "c.db"
    res = run(db, {"github": {"queries": ["pretrained image classification"], "linked": False,
                              "max_rate_limit_wait": 5, "seconds_between_requests": 0}})
    assert res.status == "ok", res.error
    repos = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    assert "github:lukemelas/efficientnet-pytorch" in repos  # the rest of the page
    evil = repos["github:evil/pretrained-everything"]
    assert (evil["full_name"], evil["owner"], evil["name"]) == ("evil/pretrained-everything", "evil",
                                                                "pretrained-everything")
    assert evil["url"] == "https://github.com/evil/pretrained-everything"
    assert evil["language"] is None and evil["homepage"] is None and evil["default_branch"] is None
    assert evil["topics"] is None and evil["stars"] is None and evil["open_issues"] is None
    assert evil["archived"] is None and evil["fork"] is None and evil["created_at"] is None
    assert evil["pushed_at"] is None and evil["license"] == "unknown"


def test_readme_papers_are_read_with_a_token_and_again_only_after_a_push(gh, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    db = tmp_path / "c.db"
    cfg = {"github": {"queries": QUERIES, "hubconf_search": False, "max_rate_limit_wait": 5,
                      "seconds_between_requests": 0}}
    readmes = lambda: [r["path"] for r in gh.requests if r["path"].endswith("/readme")]  # noqa: E731
    links = lambda repo: [r["paper_id"] for r in rows(  # noqa: E731
        db, "SELECT paper_id FROM paper_repos WHERE repo_id = ? AND source = 'github' ORDER BY paper_id", repo)]
    res = run(db, cfg)
    assert res.status == "ok", res.error
    found = rows(db, "SELECT count(*) AS n FROM repos")[0]["n"]
    assert len(readmes()) == found and res.details["readmes_read"] == found  # one each, a 404 included
    assert links("github:lukemelas/efficientnet-pytorch") == ["arxiv:1805.09501", "arxiv:1905.11946"]
    assert rows(db, "SELECT raw FROM paper_repos WHERE repo_id = 'github:lukemelas/efficientnet-pytorch'") == [
        {"raw": "README"}] * 2
    # the papers are there for the arxiv source to read
    assert rows(db, "SELECT fetched_at FROM papers WHERE id = 'arxiv:1905.11946'") == [{"fetched_at": None}]
    # a quiet night reads no README and changes nothing
    gh.reset_log()
    res = run(db, cfg)
    assert readmes() == [] and res.counts.updated == 0 and res.counts.new == 0
    # a push: that README alone is read again, and its links replaced
    gh.set_file("lukemelas/EfficientNet-PyTorch", "README.md", "Now see https://arxiv.org/abs/2104.00298")
    gh.reset_log()
    run(db, cfg)
    assert readmes() == ["/repos/lukemelas/EfficientNet-PyTorch/readme"]
    assert links("github:lukemelas/efficientnet-pytorch") == ["arxiv:2104.00298"]
    # without a token READMEs are not read: the links stay as they are
    monkeypatch.delenv("GITHUB_TOKEN")
    gh.reset_log()
    res = run(db, cfg)
    assert readmes() == [] and res.details["readme_papers"].startswith("skipped")
    assert links("github:lukemelas/efficientnet-pytorch") == ["arxiv:2104.00298"]
