"""The arXiv source against a local arXiv replay, through the real `arxiv` client."""

import json
import sqlite3

import pytest

from dbrows import rows
from indexer.refresh import refresh
from indexer.sources.arxiv import effective_delay, normalize_arxiv
from replay.arxiv import ArxivReplay, paper
from replay.world import build_arxiv

CFG = {"arxiv": {"delay_seconds": 0, "retries": 1}}


@pytest.fixture
def ax(monkeypatch):
    with ArxivReplay() as replay:
        build_arxiv(replay)
        monkeypatch.setenv("ARXIV_API_URL", replay.url)
        yield replay


@pytest.fixture
def linked_db(tmp_path, list_source):
    """A catalog whose models name five papers: four arXiv has, one it does not."""
    db = tmp_path / "c.db"
    list_source("m", [
        {"name": "vit", "papers": ["2010.11929"], "datasets": ["imagenet-1k"]},
        {"name": "resnet", "papers": ["1512.03385", "cs/0112017"], "datasets": ["imagenet-1k"]},
        {"name": "deit", "papers": ["2012.12877"]},
        {"name": "ghost", "papers": ["2101.99999"]},
    ])
    refresh(db, ["m"])
    return db


def run(db, cfg=CFG):
    [res] = refresh(db, ["arxiv"], config=cfg)
    return res


def test_referenced_papers_are_read_in_one_batch(ax, linked_db):
    res = run(linked_db)
    assert res.status == "ok", res.error
    assert (res.details["ids"], res.details["found"], res.details["missing"]) == (5, 4, 1)
    assert ax.count() == 1  # one id_list request for all five
    papers = {r["id"]: r for r in rows(linked_db, "SELECT * FROM papers")}
    vit = papers["arxiv:2010.11929"]
    assert vit["title"].startswith("An Image is Worth 16x16 Words") and vit["version"] == 2
    assert json.loads(vit["authors"]) == ["Alexey Dosovitskiy", "Łukasz Kaiser", "Jürgen Schmidhuber"]
    assert (vit["published"], vit["primary_category"], vit["comment"]) == ("2020-10-22T17:55:59Z", "cs.CV",
                                                                          "ICLR 2021")
    assert json.loads(vit["categories"]) == ["cs.CV", "cs.AI", "cs.LG"]
    assert vit["pdf_url"].startswith("http") and vit["url"] == "https://arxiv.org/abs/2010.11929"
    assert vit["missing"] == 0 and vit["fetched_at"]
    deit = papers["arxiv:2012.12877"]
    assert (deit["doi"], deit["journal_ref"]) == ("10.48550/arXiv.2012.12877", "ICML 2021")
    assert papers["arxiv:cs/0112017"]["title"] == "An old-style paper"
    ghost = papers["arxiv:2101.99999"]
    assert ghost["missing"] == 1 and ghost["title"] is None and ghost["fetched_at"]
    # code named in the abstract or comment: paper -> repository links (stubs the github source reads)
    assert {(r["paper_id"], r["repo_id"]) for r in rows(linked_db, "SELECT * FROM paper_repos")} == {
        ("arxiv:2010.11929", "github:google-research/vision_transformer"),
        ("arxiv:2012.12877", "github:facebookresearch/deit")}
    assert rows(linked_db, "SELECT fetched_at FROM repos WHERE id = 'github:facebookresearch/deit'") == [
        {"fetched_at": None}]
    # full-text search over papers
    hits = rows(linked_db, "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                           "WHERE papers_fts MATCH 'residual'")
    assert hits == [{"id": "arxiv:1512.03385"}]


def test_nightly_run_reads_only_new_or_stale_ids(ax, linked_db, list_source):
    run(linked_db)
    ax.reset_log()
    res = run(linked_db)
    assert res.details["ids"] == 0 and ax.count() == 0 and (res.counts.new, res.counts.updated) == (0, 0)
    # a new model names a new paper: only that id is asked for
    ax.add(paper("2103.14030", title="Swin Transformer", categories=["cs.CV"], primary_category="cs.CV"))
    list_source("m2", [{"name": "swin", "papers": ["2103.14030"]}])
    refresh(linked_db, ["m2"])
    res = run(linked_db)
    assert res.details["ids"] == 1 and ax.requests[-1]["id_list"] == "2103.14030"
    # stale papers are read again: a new version is picked up
    ax.update("2010.11929", title="An Image is Worth 16x16 Words (v3)")
    with sqlite3.connect(linked_db) as conn:
        conn.execute("UPDATE papers SET fetched_at = '2020-01-01T00:00:00Z' WHERE id = 'arxiv:2010.11929'")
    res = run(linked_db, {"arxiv": {**CFG["arxiv"], "stale_days": 30}})
    assert res.details["ids"] == 1 and res.counts.updated == 1
    assert rows(linked_db, "SELECT version, title FROM papers WHERE id = 'arxiv:2010.11929'") == [
        {"version": 3, "title": "An Image is Worth 16x16 Words (v3)"}]


def test_batches_and_a_rejected_batch_is_split(ax, linked_db):
    res = run(linked_db, {"arxiv": {**CFG["arxiv"], "batch_size": 2}})
    assert res.status == "ok" and ax.count() == 3 and res.details["found"] == 4
    # a 400 for a batch (arXiv rejects an id in it): halves are asked until the culprit is alone
    with sqlite3.connect(linked_db) as conn:
        conn.execute("UPDATE papers SET fetched_at = NULL")
    ax.reset_log()
    ax.fail_next(1, status=400)
    res = run(linked_db, {"arxiv": {"delay_seconds": 0, "retries": 0}})
    assert res.status == "ok" and res.details["found"] == 4 and ax.count() == 3


def test_outage_is_reported_and_nothing_is_lost(ax, linked_db):
    run(linked_db)
    with sqlite3.connect(linked_db) as conn:
        conn.execute("UPDATE papers SET fetched_at = NULL")
    ax.fail_next(10, status=503)
    res = run(linked_db)
    assert res.status == "failed" and "HTTP 503" in res.error and "read next run" in res.error
    assert rows(linked_db, "SELECT title FROM papers WHERE id = 'arxiv:1512.03385'") == [
        {"title": "Deep Residual Learning for Image Recognition"}]


# bodies a proxy or a dropped connection can give with 200 OK; the arxiv client reads each as an
# empty feed, which would mark every id asked as missing
NOT_ARXIV = {
    "an HTML error page": b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    "a feed cut short": b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                        b"<entry><id>http://arxiv.org/abs/2010.11929v2</id><title>An Ima",
    "an empty body": b"",
}


@pytest.mark.parametrize("body", NOT_ARXIV.values(), ids=NOT_ARXIV.keys())
def test_an_answer_that_is_not_arxivs_is_retried_and_never_read_as_missing(ax, linked_db, body):
    ax.fail_next(1, status=200, body=body)
    res = run(linked_db, {"arxiv": {"delay_seconds": 0, "retries": 1}})
    assert res.status == "ok", res.error
    assert ax.count() == 2 and (res.details["found"], res.details["missing"]) == (4, 1)
    # still there after every retry: the run fails, and no paper is marked
    with sqlite3.connect(linked_db) as conn:
        conn.execute("UPDATE papers SET fetched_at = NULL, missing = NULL, title = NULL")
    ax.fail_next(3, status=200, body=body)  # the request and its two retries
    res = run(linked_db, {"arxiv": {"delay_seconds": 0, "retries": 2}})
    assert res.status == "failed" and "read next run" in res.error
    assert "not arXiv's" in res.error or "not an Atom feed" in res.error
    assert rows(linked_db, "SELECT count(*) AS n FROM papers WHERE missing = 1 OR fetched_at IS NOT NULL") == [
        {"n": 0}]
    assert run(linked_db, {"arxiv": {"delay_seconds": 0, "retries": 0}}).details["found"] == 4


def test_entries_arxiv_lists_but_sends_broken_are_asked_again_not_marked(ax, linked_db):
    """arXiv says it found two papers, one entry lacks the fields the client needs: the batch's
    ids are not marked missing (which of them was broken is unknown), and the next run reads them."""
    good = ax.feed_entry("2010.11929")
    body = (b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">'
            b"<opensearch:totalResults>2</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>"
            b"<opensearch:itemsPerPage>5</opensearch:itemsPerPage>" + good +
            b"<entry><id>http://arxiv.org/abs/1512.03385v1</id><title>No dates</title></entry></feed>")
    ax.fail_next(1, status=200, body=body)
    res = run(linked_db, {"arxiv": {"delay_seconds": 0, "retries": 0}})
    assert res.status == "ok", res.error
    assert (res.details["found"], res.details["missing"]) == (1, 0)
    assert sorted(res.details["unreadable"]) == ["1512.03385", "2012.12877", "2101.99999", "cs/0112017"]
    papers = {r["id"]: r for r in rows(linked_db, "SELECT * FROM papers")}
    assert papers["arxiv:2010.11929"]["fetched_at"] and papers["arxiv:1512.03385"]["fetched_at"] is None
    assert not any(p["missing"] for p in papers.values())
    again = run(linked_db, {"arxiv": {"delay_seconds": 0, "retries": 0}})
    assert again.details["ids"] == 4 and (again.details["found"], again.details["missing"]) == (3, 1)


def test_configured_search_adds_papers_from_its_watermark(ax, tmp_path):
    db = tmp_path / "c.db"
    cfg = {"arxiv": {**CFG["arxiv"], "searches": ["cat:cs.CV AND abs:networks"], "search_since_days": 20000}}
    res = run(db, cfg)
    assert res.status == "ok"
    assert {r["id"] for r in rows(db, "SELECT id FROM papers")} == {"arxiv:1512.03385", "arxiv:2010.14819"}
    q = ax.requests[-1]["search_query"]
    assert q.startswith("(cat:cs.CV AND abs:networks) AND submittedDate:[")
    ax.reset_log()
    run(db, cfg)  # the next run starts where this one ended
    since = ax.requests[-1]["search_query"].split("submittedDate:[")[1].split(" TO ")[0]
    assert since == q.split(" TO ")[1].rstrip("]")


def test_the_three_second_rule():
    assert effective_delay("https://export.arxiv.org/api/query", 0) == 3.0
    assert effective_delay("http://arxiv.org/api/query", 1.5) == 3.0
    assert effective_delay("https://export.arxiv.org/api/query", 5) == 5
    assert effective_delay("http://127.0.0.1:8000/api/query", 0) == 0


def test_requests_are_spaced_by_the_delay_across_batches(ax, linked_db):
    """The client's delay holds between every two requests of a run, batches and searches alike
    (one client for the whole run), not only between the pages of one query."""
    res = refresh(linked_db, ["arxiv"], config={"arxiv": {"delay_seconds": 0.3, "retries": 0, "batch_size": 2,
                                                            "searches": ["cat:cs.CV"]}})[0]
    assert res.status == "ok", res.error
    assert len(ax.times) >= 4
    gaps = [b - a for a, b in zip(ax.times, ax.times[1:])]
    assert min(gaps) >= 0.29, gaps


def test_unreachable_arxiv_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("ARXIV_API_URL", "https://export.arxiv.invalid/api/query")
    [res] = refresh(tmp_path / "c.db", ["arxiv"])
    assert res.status == "unavailable" and "ARXIV_API_URL" in res.error


def test_normalize_arxiv():
    p = normalize_arxiv({"arxiv_id": "2010.11929", "version": 2, "title": "  A\n  title ", "authors": ["X"],
                         "abstract": "Code at https://github.com/a/b.", "comment": None})
    assert (p.id, p.title, [r.repo_id for r in p.repos]) == ("arxiv:2010.11929", "A title", ["github:a/b"])
    m = normalize_arxiv({"missing": "2101.99999", "reason": "arXiv has no such id"})
    assert m.missing and m.title is None
    from indexer.errors import SkipRecord

    with pytest.raises(SkipRecord):
        normalize_arxiv({"arxiv_id": "not-an-id"})
