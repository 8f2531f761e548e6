"""The Hugging Face Hub source, end to end through huggingface_hub, against a local replay Hub."""

import copy
import hashlib
import importlib
import json
import sqlite3
import time

import pytest

from conftest import dump
from indexer.refresh import refresh
from indexer.sources.hf import FIELDS, HubSource, _with, normalize_hub, queries
from indexer.store import Catalog
from replay.hub import HubReplay
from replay.synth import synthetic_models

PAGE = 50

# Hand-written records in the Hub's real shapes (see ../shared/fixtures-raw/huggingface): small
# ImageNet classifiers the seed question should find, and a timm repo that is also a timm row.
SMALL = [
    {"id": "facebook/deit-tiny-patch16-224", "author": "facebook", "pipeline_tag": "image-classification",
     "library_name": "transformers", "tags": ["transformers", "pytorch", "safetensors", "vit", "image-classification",
                                              "vision", "dataset:imagenet-1k", "arxiv:2012.12877", "license:apache-2.0",
                                              "region:us"],
     "cardData": {"license": "apache-2.0", "tags": ["image-classification", "vision"], "datasets": ["imagenet-1k"]},
     "safetensors": {"parameters": {"F32": 5717416}, "total": 5717416}, "usedStorage": 91654387,
     "downloads": 20315, "likes": 11, "gated": False, "private": False, "disabled": False},
    {"id": "microsoft/resnet-18", "author": "microsoft", "pipeline_tag": "image-classification",
     "library_name": "transformers", "tags": ["transformers", "pytorch", "tf", "safetensors", "resnet",
                                              "image-classification", "vision", "dataset:imagenet-1k",
                                              "arxiv:1512.03385", "license:apache-2.0", "region:us"],
     "cardData": {"license": "apache-2.0", "tags": ["vision", "image-classification"], "datasets": ["imagenet-1k"]},
     "safetensors": {"parameters": {"F32": 11689512}, "total": 11689512}, "usedStorage": 140000000,
     "downloads": 90210, "likes": 50, "gated": False, "private": False, "disabled": False},
    {"id": "timm/resnet18.a1_in1k", "author": "timm", "pipeline_tag": "image-classification", "library_name": "timm",
     "tags": ["timm", "pytorch", "safetensors", "image-classification", "transformers", "dataset:imagenet-1k",
              "arxiv:2110.00476", "arxiv:1512.03385", "license:apache-2.0", "region:us"],
     "cardData": {"license": "apache-2.0", "library_name": "timm", "tags": ["image-classification", "timm"],
                  "datasets": ["imagenet-1k"]},
     "safetensors": {"parameters": {"F32": 11689512}, "total": 11689512}, "usedStorage": 93500000,
     "downloads": 51000, "likes": 3, "gated": False, "private": False, "disabled": False},
    {"id": "someone/secret-model", "author": "someone", "pipeline_tag": "text-generation", "private": True,
     "tags": ["transformers", "license:mit"], "library_name": "transformers"},
]


def models(n=600, seed=7):
    return synthetic_models(n, seed=seed) + copy.deepcopy(SMALL)


@pytest.fixture
def hub(monkeypatch):
    server = HubReplay(models(), page_size=PAGE).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield server
    server.stop()


def run(db, **settings):
    settings.setdefault("page_size", PAGE)
    [r] = refresh(db, ["hf"], config={"hf": settings})
    return r


def catalog_ids(db, live=True):
    conn = sqlite3.connect(db)
    rows = {r[0] for r in conn.execute(
        "SELECT id FROM models WHERE source = 'hf'" + (" AND removed_at IS NULL" if live else ""))}
    conn.close()
    return rows


def public_ids(hub):
    return {f"hf:{i}" for i in hub.ids() if not hub.get(i).get("private")}


def test_first_run_is_a_full_sweep_of_every_page(tmp_path, hub):
    db = tmp_path / "c.db"
    r = run(db)
    assert r.status == "ok", r.error
    assert r.details["mode"] == "full" and r.counts.skipped == 0
    assert catalog_ids(db) == public_ids(hub)
    pages = -(-len(public_ids(hub)) // PAGE)
    assert pages <= r.details["requests"] <= pages + 2  # + the head request (+ a last empty page)
    assert "hf:someone/secret-model" not in catalog_ids(db, live=False)  # the Hub does not list it
    # rows are exactly what the normalizer makes of what the Hub serves
    with Catalog.open(db, readonly=True, create=False) as cat:
        for repo in ("facebook/deit-tiny-patch16-224", "timm/resnet18.a1_in1k", hub.ids()[3]):
            expected = normalize_hub(hub.get(repo), hub.url)
            row = cat.get_model(f"hf:{repo}")
            for field in ("task", "library", "license", "license_family", "num_params", "size_bytes",
                          "downloads", "sha", "updated_at", "repo_bytes", "gated", "source_uid"):
                assert row[field] == (getattr(expected, field)), (repo, field)
            assert sorted(d["dataset_id"] for d in row["datasets"]) == sorted(d.dataset_id for d in expected.datasets)


def test_a_night_with_no_changes_costs_one_request_and_changes_nothing(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db)
    before = dump(db)
    hub.reset_log()
    r = run(db)
    assert r.details["mode"] == "incremental" and r.status == "ok"
    assert r.details["requests"] == 1 == hub.count()
    assert (r.counts.new, r.counts.updated) == (0, 0)
    assert dump(db) == before


def test_a_night_with_50_changes_fetches_about_those(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db)
    changed = [i for i in hub.ids() if not hub.get(i).get("private")][100:150]
    for repo in changed:
        hub.touch(repo)
    hub.reset_log()
    r = run(db)
    assert r.details["mode"] == "incremental"
    assert r.counts.updated == 50 and r.counts.new == 0
    assert r.counts.seen <= 50 + PAGE  # the page where the changes end, at most
    assert r.details["requests"] <= 3
    with Catalog.open(db, readonly=True, create=False) as cat:
        for repo in changed:
            assert cat.get_model(f"hf:{repo}")["sha"] == hub.get(repo)["sha"]


def test_new_models_arrive_incrementally(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db)
    fresh = copy.deepcopy(SMALL[0])
    fresh["id"] = "newcomer/tiny-vit"
    hub.put(fresh)
    r = run(db)
    assert r.counts.new == 1 and "hf:newcomer/tiny-vit" in catalog_ids(db)


def test_a_crash_mid_sweep_resumes_where_it_stopped(tmp_path, hub, commit_each_page):
    db = tmp_path / "c.db"
    pages_done = []

    def progress(source):
        def report(done, total, what):
            pages_done.append(done)
        return report

    hub.fail_next(1, status=400, after=1 + 4)  # the 5th page's request dies (not retried); 1: the head query
    [r] = refresh(db, ["hf"], progress=progress, config={"hf": {"page_size": PAGE}})
    assert r.status == "failed" and len(pages_done) == 4
    kept = catalog_ids(db)
    assert len(kept) >= 4 * PAGE - 10  # four pages were committed with their cursor
    with Catalog.open(db, readonly=True, create=False) as cat:
        assert cat.load_state("hf")["sweep"]["queries"][0]["next"]
    hub.reset_log()
    r = run(db)
    assert r.status == "ok" and r.details["mode"] == "full" and r.details["resumed"] is True
    total_pages = -(-len(public_ids(hub)) // PAGE)
    assert hub.count() <= total_pages - 4 + 1  # only the pages not done before
    assert catalog_ids(db) == public_ids(hub)
    # the same catalog as a clean run
    clean = tmp_path / "clean.db"
    run(clean)
    assert dump(db, ignore=("last_seen", "first_seen", "changed_at")) == \
        dump(clean, ignore=("last_seen", "first_seen", "changed_at"))


def test_a_sweep_commits_at_most_every_few_seconds_and_a_crash_resumes_after_the_last_commit(
        tmp_path, hub, monkeypatch):
    """Each page is a Checkpoint, but the rows and the cursor are committed together at most every
    refresh.COMMIT_EVERY_S (a commit per page rewrote every index the page touched): a run that
    dies between two commits keeps the pages of the last one, and its next run resumes there and
    ends with the catalog a clean run makes. The clock here is the pages: one second each."""
    from types import SimpleNamespace

    refresh_module = importlib.import_module("indexer.refresh")

    clock = [0.0]
    monkeypatch.setattr(refresh_module, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    monkeypatch.setattr(refresh_module, "COMMIT_EVERY_S", 2.5)
    db = tmp_path / "c.db"
    pages_done = []

    def progress(source):
        def report(done, total, what):
            pages_done.append(done)
            clock[0] += 1.0
        return report

    # the 8th page's request dies (not retried): the sweep's first request is its head query
    hub.fail_next(1, status=400, after=1 + 7)
    [r] = refresh(db, ["hf"], progress=progress, config={"hf": {"page_size": PAGE}})
    assert r.status == "failed" and len(pages_done) == 7
    kept = catalog_ids(db)
    with Catalog.open(db, readonly=True, create=False) as cat:
        seen = cat.load_state("hf")["sweep"]["seen"]
    # committed at the pages where 2.5 s had passed (the 3rd and 6th), not at each page, and the
    # cursor saved with the rows it stands for
    assert len(kept) == seen and seen in (5 * PAGE, 6 * PAGE), (len(kept), seen)
    hub.reset_log()
    r = run(db)
    assert r.status == "ok" and r.details["resumed"] is True
    assert catalog_ids(db) == public_ids(hub)
    clean = tmp_path / "clean.db"
    run(clean)
    assert dump(db, ignore=("last_seen", "first_seen", "changed_at")) == \
        dump(clean, ignore=("last_seen", "first_seen", "changed_at"))

    # with nothing due (a run shorter than the gap), a failed run keeps none of its pages
    monkeypatch.setattr(refresh_module, "COMMIT_EVERY_S", 3600.0)
    db2, pages_done[:] = tmp_path / "d.db", []
    hub.fail_next(1, status=400, after=1 + 7)
    [r] = refresh(db2, ["hf"], progress=progress, config={"hf": {"page_size": PAGE}})
    assert r.status == "failed" and len(pages_done) == 7 and catalog_ids(db2) == set()


def test_ctrl_c_mid_sweep_also_resumes(tmp_path, hub, commit_each_page):
    db = tmp_path / "c.db"

    def progress(source):
        def report(done, total, what):
            if done >= 3 * PAGE:
                raise KeyboardInterrupt
        return report

    with pytest.raises(KeyboardInterrupt):
        refresh(db, ["hf"], progress=progress, config={"hf": {"page_size": PAGE}})
    assert 0 < len(catalog_ids(db)) < len(public_ids(hub))
    r = run(db)
    assert r.details["resumed"] is True and catalog_ids(db) == public_ids(hub)


def test_the_id_sweep_finds_deleted_and_renamed_models(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db)
    ids = [i for i in public_ids(hub)]
    gone, moved = sorted(ids)[10][3:], sorted(ids)[20][3:]
    hub.delete(gone)
    hub.rename(moved, "renamed/" + moved.split("/")[-1])
    # the nightly run cannot see either (neither changed lastModified)
    r = run(db)
    assert r.details["mode"] == "incremental" and r.counts.removed == 0
    hub.reset_log()
    r = run(db, full_sweep_days=0)
    assert r.details["mode"] == "ids" and r.status == "ok"
    assert r.counts.removed == 1 and r.counts.renamed == 1
    assert r.details["fetched_one_by_one"] == 1  # only the renamed model needed its full record
    new_id = "hf:renamed/" + moved.split("/")[-1]
    assert catalog_ids(db) == public_ids(hub)
    with Catalog.open(db, readonly=True, create=False) as cat:
        assert cat.conn.execute("SELECT removed_at IS NOT NULL FROM models WHERE id = ?", (f"hf:{gone}",)).fetchone()[0]
        row = cat.get_model(f"hf:{moved}")
        assert row["id"] == new_id and f"hf:{moved}" in row["aliases"]
    pages = -(-len(public_ids(hub)) // PAGE)
    assert hub.count() <= pages + 3  # id pages + the head + one model_info
    # the next night is incremental again
    assert run(db, full_sweep_days=7).details["mode"] == "incremental"


def test_a_model_deleted_between_listing_and_fetching_is_not_an_error(tmp_path, monkeypatch):
    """Anonymous requests for a missing repo get 401 + X-Error-Code: RepoNotFound on the real Hub."""
    from indexer.sources.hf import HubClient

    with HubReplay(models(30), anonymous_not_found_status=401) as server:
        client = HubClient(server.url)
        assert client.model_info("nobody/nothing") is None
        assert server.requests[-1][1] == "/api/models/nobody/nothing"
        some = server.ids()[0]
        assert client.model_info(some)["id"] == some


def test_a_rename_seen_by_the_nightly_run(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db)
    old = sorted(public_ids(hub))[5][3:]
    hub.rename(old, "moved/elsewhere")
    hub.touch("moved/elsewhere")
    r = run(db)
    assert (r.counts.new, r.counts.renamed) == (1, 1)
    with Catalog.open(db, readonly=True, create=False) as cat:
        assert cat.resolve_id(f"hf:{old}") == "hf:moved/elsewhere"


def test_filters_become_hub_queries_and_min_downloads_is_applied(tmp_path, hub):
    settings = {"authors": ["facebook", "microsoft"], "libraries": ["transformers"],
                "pipeline_tags": ["image-classification"], "min_downloads": 50_000}
    assert len(queries(settings)) == 2
    db = tmp_path / "c.db"
    r = run(db, **settings)
    assert catalog_ids(db) == {"hf:microsoft/resnet-18"}  # deit has 20315 downloads
    assert r.details["below_min_downloads"] >= 1
    sent = [q for m, p, q in hub.requests if p == "/api/models" and "expand" in q and "cursor" not in q]
    assert {tuple(q["author"]) for q in sent} == {("facebook",), ("microsoft",)}
    assert all(q["filter"] == ["transformers"] and q["pipeline_tag"] == ["image-classification"] for q in sent)


def test_a_changed_scope_starts_a_new_full_sweep(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db, authors=["facebook"])
    assert catalog_ids(db) == {f"hf:{i}" for i in hub.ids() if i.startswith("facebook/") and not hub.get(i).get("private")}
    r = run(db, authors=["facebook", "microsoft"])
    assert r.details["mode"] == "full"
    assert "hf:microsoft/resnet-18" in catalog_ids(db)


def test_full_flag_forces_a_full_sweep(tmp_path, hub):
    db = tmp_path / "c.db"
    run(db)
    r = run(db, full=True)
    assert r.details["mode"] == "full" and r.counts.updated == 0 and r.counts.removed == 0


def test_rate_limited_first_page_is_retried(tmp_path, hub):
    hub.fail_next(1, status=429, headers={"Retry-After": "0"})
    r = run(tmp_path / "c.db")
    assert r.status == "ok" and catalog_ids(tmp_path / "c.db") == public_ids(hub)


def test_gated_odd_and_lineage_records(tmp_path, hub):
    db = tmp_path / "c.db"
    r = run(db)
    assert r.counts.skipped == 0
    conn = sqlite3.connect(db)
    gated = {g for (g,) in conn.execute("SELECT DISTINCT gated FROM models WHERE source = 'hf'")}
    assert {"manual", "auto", None} <= gated
    assert conn.execute("SELECT count(*) FROM model_relations WHERE relation = 'finetune'").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM models WHERE source = 'hf' AND license = 'other' "
                        "AND license_name IS NOT NULL").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM datasets WHERE curated = 0").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM models WHERE source = 'hf' AND task IS NULL "
                        "AND task_raw IS NOT NULL").fetchone()[0] > 0  # an unknown pipeline tag, kept raw


def test_the_token_is_used_but_never_stored(tmp_path, hub, monkeypatch, caplog):
    token = "hf_plantedSecretToken1234567890"
    monkeypatch.setenv("HF_TOKEN", token)
    db = tmp_path / "c.db"
    r = run(db)
    assert r.status == "ok"
    assert any(token in (h or "") for h in hub.auth_headers) if hasattr(hub, "auth_headers") else True
    for path in tmp_path.iterdir():
        assert token.encode() not in path.read_bytes(), path
    assert token not in caplog.text


def test_our_page_requests_match_what_list_models_sends(hub):
    from huggingface_hub import HfApi

    list(HfApi(endpoint=hub.url).list_models(author="google", filter="timm", pipeline_tag="image-classification",
                                             sort="last_modified", expand=list(FIELDS), limit=5))
    theirs = hub.requests[-1][2]
    [params] = queries({"authors": ["google"], "libraries": ["timm"], "pipeline_tags": ["image-classification"]})
    ours = {}
    for k, v in _with(params, "lastModified", 5, FIELDS):
        ours.setdefault(k, []).append(str(v))
    assert ours == theirs


def test_timm_repos_are_the_same_entity_as_timm_rows(tmp_path, hub, session_cache):
    db = tmp_path / "c.db"
    results = refresh(db, ["timm", "hf"], cache=session_cache)
    assert all(r.status == "ok" for r in results)
    with Catalog.open(db, readonly=True, create=False) as cat:
        row = cat.get_model("hf:timm/resnet18.a1_in1k")
        assert row["entity_id"] == "timm:resnet18.a1_in1k"
        assert row["same_entity"] == ["timm:resnet18.a1_in1k"]
        from indexer.search import Query, search

        hits = search(cat, Query(task="image-classification", dataset="imagenet-1k", open_only=True, max_mb=100))
        ids = [h["id"] for h in hits]
        assert len(ids) == len(set(ids))
        both = [h for h in hits if "timm:resnet18.a1_in1k" in h["ids"]]
        assert len(both) == 1 and set(both[0]["ids"]) == {"timm:resnet18.a1_in1k", "hf:timm/resnet18.a1_in1k"}
        assert {"hf:facebook/deit-tiny-patch16-224", "hf:microsoft/resnet-18"} <= set(ids)


def test_offline_hub_is_unavailable_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
    r = run(tmp_path / "c.db")
    assert r.status == "unavailable" and "HF_ENDPOINT" in r.error and r.seconds < 5


def test_a_sweep_asks_for_the_next_page_while_it_hands_over_this_ones_models(tmp_path):
    """HubSource._sweep reads the listing one page ahead (http.read_ahead): the first import of the
    Hub waited on the network about a third of its time. Every page is still read once, in order."""
    from indexer.sources.base import FetchContext

    with HubReplay(models(20), page_size=5) as server:
        ctx = FetchContext(cache_dir=tmp_path, config={"endpoint": server.url, "page_size": 5})
        fetched = HubSource().fetch(ctx)
        first = next(fetched)
        assert isinstance(first, dict)  # page 1's first model, still held here: page 2 is on its way
        deadline = time.monotonic() + 5
        while server.count("/api/models") - 1 < 2 and time.monotonic() < deadline:  # (less the head query)
            time.sleep(0.01)
        assert server.count("/api/models") - 1 >= 2
        rest = [x for x in fetched if isinstance(x, dict)]
        listed = [i for i in server.ids() if not server.get(i).get("private")]
        assert [first["id"]] + [x["id"] for x in rest] == listed


def test_a_next_link_to_another_host_is_refused(tmp_path, monkeypatch):
    """A Link header pointing elsewhere would carry the token there: the source stops instead."""
    from indexer.sources.hf import HubClient

    class Evil(HubReplay):
        pass

    with HubReplay(models(20), page_size=5) as server:
        client = HubClient(server.url)
        pages = client.pages(None, url=server.url.replace("127.0.0.1", "localhost") + "/api/models")
        with pytest.raises(Exception, match="outside"):
            next(pages)


@pytest.mark.parametrize("raw", [
    {"id": "a/b", "cardData": "not a dict", "tags": "not a list", "safetensors": [1, 2]},
    {"id": "a/b", "cardData": {"license": ["mit", "cc-by-nc-4.0"], "model-index": "junk", "datasets": {"x": 1}}},
    {"id": "a/b", "pipeline_tag": 7, "downloads": "many", "gated": "weird", "usedStorage": -1.5},
    {"id": "a/b", "safetensors": {"parameters": {"Q4_K": 100, "F32": 10}, "total": None}},
    {"id": "a/b", "cardData": {"model-index": [{"results": [{"dataset": {"name": "x"}, "metrics": [
        {"type": "accuracy", "value": "81.2%"}, {"type": "f1", "value": [1]}, {"value": 3}]}]}]}},
])
def test_odd_records_normalize_without_raising(raw):
    rec = normalize_hub(raw)
    assert rec.id == "hf:a/b"
    json.dumps([rec.num_params, rec.size_bytes, rec.license, [vars(m) for m in rec.metrics]])


def test_odd_values_land_sensibly():
    rec = normalize_hub({"id": "a/b", "cardData": {"license": ["mit", "cc-by-nc-4.0"]}})
    assert (rec.license, rec.license_family) == ("mit", "non-commercial")
    rec = normalize_hub({"id": "a/b", "safetensors": {"parameters": {"Q4_K": 100, "F32": 10}, "total": None}})
    assert (rec.num_params, rec.size_bytes, rec.size_is_estimate) == (110, 240, True)
    rec = normalize_hub({"id": "a/b", "cardData": {"license": "other", "license_name": "my-license"}})
    assert (rec.license, rec.license_name, rec.license_family) == ("other", "my-license", "unknown")
    rec = normalize_hub({"id": "a/b", "tags": ["license:other"], "cardData": {"license_name": "llama3"}})
    assert rec.license == "llama3"
    rec = normalize_hub({"id": "a/b", "tags": ["image-classification", "timm"]})
    assert (rec.task, rec.task_raw, rec.library) == ("image-classification", None, "timm")
    rec = normalize_hub({"id": "a/b", "tags": ["base_model:x/y", "base_model:finetune:x/y", "base_model:z/w"]})
    assert [(r.relation, r.related_id) for r in rec.relations] == [("finetune", "hf:x/y"), ("base_model", "hf:z/w")]
    with pytest.raises(Exception):
        normalize_hub({"no": "id"})


def test_private_models_a_token_can_see_stay_out_unless_asked_for():
    """A published catalog.db must not leak private repos: they are skipped by default."""
    from indexer.sources.base import FetchContext

    src, ctx = HubSource(), FetchContext(cache_dir=None)
    private = {"id": "me/secret", "private": True}
    assert src._keep(private, ctx, {"include_private": False, "min_downloads": 0}) is False
    assert ctx.details["private_skipped"] == 1
    assert src._keep(private, ctx, {"include_private": True, "min_downloads": 0}) is True
    assert src._keep({"no": "id"}, ctx, {"include_private": True, "min_downloads": 0}) is False


def test_settings_are_declared():
    assert {"authors", "libraries", "pipeline_tags", "min_downloads", "full_sweep_days"} <= set(HubSource.settings)


def test_ten_thousand_models_then_fifty_changes(tmp_path, monkeypatch):
    """The issue's yardstick: a replay of 10k realistic models gives a correct catalog, and a night
    with 50 changed models fetches about those."""
    with HubReplay(synthetic_models(10_000, seed=11), page_size=1000) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        db = tmp_path / "c.db"
        r = run(db, page_size=1000)
        assert (r.status, r.counts.new, r.counts.skipped) == ("ok", 10_000, 0)
        conn = sqlite3.connect(db)
        stored = {row[0]: row[1:] for row in conn.execute(
            "SELECT id, task, license, license_family, num_params, size_bytes, sha, gated, repo_bytes, entity_id "
            "FROM models WHERE source = 'hf'")}
        for repo in hub.ids():
            rec = normalize_hub(hub.get(repo), hub.url)
            assert stored[rec.id] == (rec.task, rec.license, rec.license_family, rec.num_params, rec.size_bytes,
                                      rec.sha, rec.gated, rec.repo_bytes, rec.entity_id or rec.id), repo
        links = conn.execute("SELECT count(*) FROM model_datasets").fetchone()[0]
        assert links == sum(len(normalize_hub(hub.get(i)).datasets) for i in hub.ids())
        conn.close()
        changed = hub.ids()[::200]  # 50 models
        assert len(changed) == 50
        for repo in changed:
            hub.touch(repo)
        hub.reset_log()
        r = run(db, page_size=1000)
        assert r.details["mode"] == "incremental" and hub.count() == 1
        assert (r.counts.updated, r.counts.new, r.counts.removed) == (50, 0, 0)


def test_refresh_and_search_through_the_cli(tmp_path, hub):
    import subprocess
    import sys

    db = tmp_path / "c.db"
    env = {"HF_ENDPOINT": hub.url, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "indexer", "refresh", "--db", str(db), "--source", "hf",
                          "--hf-author", "facebook", "--hf-author", "timm"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[2].split()[:2] == ["hf", "ok"]
    out = subprocess.run([sys.executable, "-m", "indexer", "search", "--db", str(db), "--task", "image-classification",
                          "--dataset", "in1k", "--open", "--max-mb", "100", "--format", "ids"],
                         capture_output=True, text=True, timeout=60)
    assert "hf:facebook/deit-tiny-patch16-224" in out.stdout.split()
    assert "hf:microsoft/resnet-18" not in out.stdout.split()  # not in the configured authors


def test_datasette_stored_query_shows_an_entity_once(tmp_path, hub, session_cache):
    import asyncio

    from indexer.serve import make_datasette

    db = tmp_path / "catalog.db"
    refresh(db, ["timm", "torchvision", "hf"], cache=session_cache, config={"hf": {"page_size": PAGE}})
    ds = make_datasette(db)

    async def get():
        return await ds.client.get("/catalog/open_classifiers.json?_shape=array")

    rows = asyncio.run(get()).json()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    resnet = [r for r in rows if "timm:resnet18.a1_in1k" in r["ids"].split()]
    assert len(resnet) == 1 and set(resnet[0]["ids"].split()) == {"timm:resnet18.a1_in1k", "hf:timm/resnet18.a1_in1k"}
    assert {"hf:facebook/deit-tiny-patch16-224", "hf:microsoft/resnet-18"} <= set(ids)
    with Catalog.open(db, readonly=True, create=False) as cat:
        from indexer.search import Query, search

        grouped = {r["id"] for r in search(cat, Query(task="image-classification", dataset="imagenet-1k",
                                                         open_only=True, max_mb=100, sort="size"))}
    assert set(ids) == grouped


def test_model_card_metadata_links_code_repositories():
    """GitHub repositories the card's metadata names become links (lower-case ids, each once);
    URLs in example inputs and evaluation results are not the model's code."""
    rec = normalize_hub({
        "id": "acme/tiny-vit", "sha": "a" * 40, "tags": [],
        "cardData": {
            "repo": "https://github.com/Acme/TinyViT",
            "extra_gated_prompt": "Code and license: https://github.com/acme/tinyvit/blob/main/LICENSE",
            "widget": [{"src": "https://github.com/someone/images/raw/main/cat.png"}],
            "model-index": [{"name": "x", "results": [{"source": {"url": "https://github.com/bench/board"}}]}],
        },
    })
    assert [(x.repo_id, x.raw) for x in rec.repos] == [
        ("github:acme/tinyvit", "https://github.com/Acme/TinyViT")]


def test_the_hubs_newer_evaluation_results_become_metrics_with_their_origin(tmp_path, hub):
    """`evalResults` (the repository's .eval_results/*.yaml files, as the API returns them) are read
    beside model-index: each score keeps its benchmark dataset, task, notes and whom it credits;
    a file the Hub rejected is skipped; model-index rows say they came from the model card."""
    run(tmp_path / "c.db")
    conn = sqlite3.connect(tmp_path / "c.db")
    with_results = [i for i in hub.ids() if hub.get(i).get("evalResults")]
    assert with_results
    rid = with_results[0]
    rows = conn.execute("SELECT dataset_id, dataset_raw, metric, metric_raw, value, origin FROM metrics "
                        "WHERE model_id = ? ORDER BY dataset_raw, metric_raw", (f"hf:{rid}",)).fetchall()
    data = {e["filename"]: e["data"] for e in hub.get(rid)["evalResults"] if "data" in e}
    hle, tools, gpqa = data[".eval_results/hle.yaml"], data[".eval_results/hle_with_tools.yaml"], data[".eval_results/gpqa.yaml"]
    assert rows == [
        ("Idavidrein/gpqa", "Idavidrein/gpqa", "gpqa_diamond", "gpqa_diamond", gpqa["value"],
         "Hub evaluation results .eval_results/gpqa.yaml (carries a verifyToken)"),
        ("cais/hle", "cais/hle", "hle", "hle", hle["value"],
         "Hub evaluation results .eval_results/hle.yaml; source: Eval logs <https://huggingface.co/spaces/example/hle-logs>"),
        ("cais/hle", "cais/hle (With tools)", "hle", "hle", tools["value"],
         "Hub evaluation results .eval_results/hle_with_tools.yaml"),
    ]
    # the benchmark datasets are catalog datasets: a leaderboard per dataset and metric can rank them
    n = conn.execute("SELECT count(DISTINCT model_id) FROM metrics WHERE dataset_id = 'cais/hle' AND metric = 'hle'"
                     ).fetchone()[0]
    assert n == len(with_results)
    assert conn.execute("SELECT 1 FROM datasets WHERE id = 'cais/hle'").fetchone()
    origins = {o for (o,) in conn.execute("SELECT DISTINCT origin FROM metrics m JOIN models x ON x.id = m.model_id "
                                          "WHERE x.source = 'hf' AND m.dataset_id != 'cais/hle' "
                                          "AND m.dataset_id != 'Idavidrein/gpqa'")}
    assert origins and all(o.startswith("model card model-index") for o in origins)


def test_eval_results_in_odd_shapes_are_skipped_not_fatal():
    rec = normalize_hub({"id": "a/b", "evalResults": [
        "junk", {"error": "bad"}, {"data": {"dataset": {"id": "x/y"}}}, {"dataset": {"id": "x/y"}, "value": [1]},
        {"dataset": {"task_id": "t"}, "value": 1}, {"dataset": {"id": "x/y"}, "value": "n/a"},
        {"dataset": {"id": "x/y", "task_id": "t"}, "value": "61.5%", "source": "not a dict"},
        {"dataset": {"id": "x/y", "task_id": "t"}, "value": 99},  # the same benchmark and task again: the first stays
    ], "cardData": {"model-index": [{"results": [{"dataset": {"name": "ImageNet", "type": "imagenet-1k"},
                                                   "source": {"name": "Paper", "url": "https://arxiv.org/abs/1"},
                                                   "metrics": [{"type": "top-1", "value": 80}]}]}]}})
    assert [(m.dataset_raw, m.metric_raw, m.value, m.metric, m.origin) for m in rec.metrics] == [
        ("ImageNet", "top-1", 80.0, "top1", "model card model-index; source: Paper <https://arxiv.org/abs/1>"),
        ("x/y", "t", 61.5, "t", "Hub evaluation results (.eval_results)"),
    ]


def test_a_card_naming_a_packaging_of_imagenet_is_trained_on_imagenet_with_its_raw_kept():
    """Real classifier cards name ImageNet by the Hub repository they trained from: timm's
    webdataset shards, resized copies (issue #21, part 3). The row says imagenet-1k; the raw
    repository stays beside it. A subset stays its own dataset."""
    raw = copy.deepcopy(SMALL[0])
    raw["id"] = "someone/vit-small-wds"
    raw["tags"] = [t for t in raw["tags"] if not t.startswith("dataset:")] + ["dataset:timm/imagenet-1k-wds"]
    raw["cardData"]["datasets"] = ["timm/imagenet-1k-wds", "evanarlian/imagenet_1k_resized_256", "zh-plus/tiny-imagenet"]
    rec = normalize_hub(raw)
    by_id = {}
    for link in rec.datasets:
        by_id.setdefault(link.dataset_id, []).append(link.raw)
    assert "imagenet-1k" in by_id and by_id["imagenet-1k"][0] in ("timm/imagenet-1k-wds", "dataset:timm/imagenet-1k-wds")
    tiny = [i for i, raws in by_id.items() if any("tiny-imagenet" in r for r in raws)]
    assert tiny == ["tiny-imagenet"]


def test_a_card_trained_on_its_own_image_folder_names_no_dataset():
    """The Trainer writes `datasets: [imagefolder]` into the card of a model trained on a local
    folder of images (common among fine-tuned image classifiers): that is the loader, not a
    dataset, so no link; `beans` (the legacy name) and its repository are one dataset."""
    raw = copy.deepcopy(SMALL[0])
    raw["id"] = "someone/vit-base-beans"
    raw["tags"] = [t for t in raw["tags"] if not t.startswith("dataset:")] + ["dataset:imagefolder"]
    raw["cardData"]["datasets"] = ["imagefolder", "beans", "AI-Lab-Makerere/beans"]
    rec = normalize_hub(raw)
    assert [(d.dataset_id, d.raw) for d in rec.datasets] == [("beans", "beans")]


def _lfs_sibling(name: str, digest: str, size: int = 46_807_446) -> dict:
    """A sibling as GET /api/models/{id}?blobs=true gives it (huggingface_hub's RepoSibling with
    BlobLfsInfo)."""
    return {"rfilename": name, "size": size, "blobId": hashlib.sha1(digest.encode()).hexdigest(),
            "lfs": {"sha256": digest, "size": size, "pointerSize": 135}}


def test_two_repositories_with_the_same_weights_hash_are_one_entity_and_a_fine_tune_is_not(tmp_path, hub):
    """Issue #33 on the Hub: a repository's weight files' sha256 (one `?blobs=true` request) is
    asked for the candidates only (parameter count, library and task of another entity's row) and
    their peers; the same bytes join the entities, with the evidence recorded; a fine-tune's
    differ. Hashes held are carried to the next record of the same commit without a request."""
    same, tuned = "a" * 64, "b" * 64
    base = next(r for r in SMALL if r["id"] == "microsoft/resnet-18")
    hub.put({**copy.deepcopy(base), "siblings": [{"rfilename": "config.json"}, _lfs_sibling("model.safetensors", same)]})
    hub.put({**copy.deepcopy(base), "id": "food-lab/resnet-18-food101", "author": "food-lab", "downloads": 12,
             "siblings": [{"rfilename": "config.json"}, _lfs_sibling("model.safetensors", tuned)]})
    db = tmp_path / "c.db"
    first = run(db, hash_requests=300)
    assert first.status == "ok" and "hash_requests" not in first.details  # a first load asks for none
    hub.reset_log()
    hub.put({**copy.deepcopy(base), "id": "mirror-org/resnet-18", "author": "mirror-org", "downloads": 3,
             "siblings": [{"rfilename": "README.md"}, _lfs_sibling("model.safetensors", same)]})
    assert "hash_requests" not in run(db).details  # none unless the setting asks for them (0 by default)
    night = run(db, hash_requests=300)
    assert night.status == "ok" and night.details["mode"] == "incremental"
    # the mirror (new, a candidate), then its two peers that had no hashes: three blobs requests
    assert night.details["hash_requests"] == 3
    assert sum(hub.count(f"/api/models/{i}/revision/") for i in
               ("mirror-org/resnet-18", "microsoft/resnet-18", "food-lab/resnet-18-food101")) == 3
    con = sqlite3.connect(db)
    entity = dict(con.execute("SELECT id, entity_id FROM models WHERE id IN "
                              "('hf:microsoft/resnet-18', 'hf:mirror-org/resnet-18', 'hf:food-lab/resnet-18-food101')"))
    assert entity["hf:mirror-org/resnet-18"] == entity["hf:microsoft/resnet-18"]
    assert entity["hf:food-lab/resnet-18-food101"] != entity["hf:microsoft/resnet-18"]
    merges = con.execute("SELECT evidence, value FROM entity_merges").fetchall()
    assert ("same weights hash", same) in merges and not any(v == tuned for _, v in merges)
    files = con.execute("SELECT model_id, url, sha256 FROM model_files WHERE model_id = 'hf:mirror-org/resnet-18'").fetchall()
    assert [(f[0], f[2]) for f in files] == [("hf:mirror-org/resnet-18", same)]
    assert files[0][1].startswith(hub.url + "/mirror-org/resnet-18/resolve/") and files[0][1].endswith("/model.safetensors")
    con.close()

    # a full sweep lists every record again, without files: the hashes of the same commits are
    # carried, with no request, and the entity stays one (the synthetic models that share a
    # parameter count are candidates too: asked, within the night's bound)
    hub.reset_log()
    again = run(db, full=True, hash_requests=300)
    assert again.status == "ok" and again.details.get("hash_requests", 0) <= 300
    assert sum(hub.count(f"/api/models/{i}/revision/") for i in
               ("mirror-org/resnet-18", "microsoft/resnet-18", "food-lab/resnet-18-food101")) == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM model_files WHERE sha256 IS NOT NULL AND model_id IN "
                       "('hf:microsoft/resnet-18', 'hf:mirror-org/resnet-18', 'hf:food-lab/resnet-18-food101')"
                       ).fetchone()[0] == 3
    assert con.execute("SELECT count(DISTINCT entity_id) FROM models WHERE id IN "
                       "('hf:microsoft/resnet-18', 'hf:mirror-org/resnet-18')").fetchone()[0] == 1
    con.close()


def test_a_commit_whose_files_were_read_is_not_asked_for_again(tmp_path, hub):
    """A candidate whose weights have no LFS hash (a small model kept in git: its file has a
    blobId, no sha256) holds no hash once its files are read. The row remembers the commit read
    (extra's files_read): later nights and sweeps do not spend requests on it again until its
    commit changes."""
    base = {k: v for k, v in next(r for r in SMALL if r["id"] == "microsoft/resnet-18").items()
            if k not in ("sha", "lastModified")}
    db = tmp_path / "c.db"
    run(db)
    plain = {**copy.deepcopy(base), "id": "small-org/resnet-18-git", "author": "small-org",
             "siblings": [{"rfilename": "model.safetensors", "size": 9_000_000, "blobId": "d" * 40}]}
    hub.put(plain)
    asked = lambda: hub.count("/api/models/small-org/resnet-18-git/revision/")  # noqa: E731
    hub.reset_log()
    assert run(db, hash_requests=50).status == "ok" and asked() == 1
    con = sqlite3.connect(db)
    sha, read = con.execute("SELECT sha, json_extract(extra, '$.files_read') FROM models "
                            "WHERE id = 'hf:small-org/resnet-18-git'").fetchone()
    assert read == sha and con.execute("SELECT count(*) FROM model_files WHERE model_id = "
                                       "'hf:small-org/resnet-18-git' AND sha256 IS NOT NULL").fetchone()[0] == 0
    con.close()
    # a sweep lists it again (the same commit): no request for it, and its row is unchanged
    hub.reset_log()
    again = run(db, full=True, hash_requests=50)
    assert again.status == "ok" and asked() == 0
    assert sqlite3.connect(db).execute("SELECT json_extract(extra, '$.files_read') FROM models "
                                       "WHERE id = 'hf:small-org/resnet-18-git'").fetchone()[0] == sha
    # a new commit is asked for
    hub.put(copy.deepcopy(plain))
    hub.reset_log()
    assert run(db, hash_requests=50).status == "ok" and asked() == 1
    new_sha, read = sqlite3.connect(db).execute("SELECT sha, json_extract(extra, '$.files_read') FROM models "
                                                "WHERE id = 'hf:small-org/resnet-18-git'").fetchone()
    assert new_sha != sha and read == new_sha


def test_the_hash_requests_of_a_night_are_bounded(tmp_path, hub):
    base = next(r for r in SMALL if r["id"] == "microsoft/resnet-18")
    db = tmp_path / "c.db"
    run(db)
    hub.reset_log()
    for k in range(5):
        hub.put({**copy.deepcopy(base), "id": f"copies/resnet-18-{k}", "author": "copies",
                 "siblings": [_lfs_sibling("model.safetensors", f"{k:x}" * 64 if k else "c" * 64)]})
    night = run(db, hash_requests=2)
    assert night.details["hash_requests"] == 2 and night.details["hashes_left_for_later"] >= 1
    assert hub.count("/api/models/copies/") == 2
    none = run(db, hash_requests=0)
    assert "hash_requests" not in none.details


def test_the_share_of_classifiers_the_hash_rules_cover_is_what_a_night_asks(tmp_path, hub):
    """`modelcat hashes` (issue #33's "say what share of the Hub's classifiers that covers") applies
    the source's own rules to the catalog's rows: the size candidates it counts are exactly the
    repositories a full sweep with room in its budget asks for, none are owed after it, and a
    mirror joined by its bytes is counted as joined. Read-only: no request."""
    from click.testing import CliRunner

    from indexer.cli import cli
    from indexer.hashshare import hash_share

    base = next(r for r in SMALL if r["id"] == "microsoft/resnet-18")
    same = "a" * 64
    hub.put({**copy.deepcopy(base), "siblings": [_lfs_sibling("model.safetensors", same)]})
    db = tmp_path / "c.db"
    run(db)
    hub.put({**copy.deepcopy(base), "id": "mirror-org/resnet-18", "author": "mirror-org",
             "siblings": [_lfs_sibling("model.safetensors", same)]})
    run(db)  # the mirror listed, not asked (hash_requests is 0 by default)
    hub.reset_log()
    with Catalog.open(db, readonly=True, create=False) as cat:
        before = hash_share(cat, "image-classification")
        every = hash_share(cat, None, {"hash_requests": 10_000})
    assert hub.requests == []  # measured from the catalog alone
    con = sqlite3.connect(db)
    live = con.execute("SELECT count(*) FROM models WHERE source = 'hf' AND removed_at IS NULL "
                       "AND task = 'image-classification'").fetchone()[0]
    con.close()
    assert before.rows == live and 0 < before.size_candidates < before.rows and before.read == 0
    assert before.owed_by_size == before.size_candidates and before.nights is None  # budget 0: never
    assert before.candidates == before.size_candidates + before.named_candidates
    assert every.rows > before.rows and every.size_candidates >= before.size_candidates
    assert every.too_common > 0  # the synthetic Hub repeats some sizes across many entities
    assert every.nights == 1 and every.share == every.candidates / every.rows
    # a full sweep with room in its budget asks exactly the candidates
    sweep = run(db, full=True, hash_requests=10_000)
    assert sweep.status == "ok" and sweep.details["hash_requests"] == every.size_candidates
    with Catalog.open(db, readonly=True, create=False) as cat:
        after = hash_share(cat, None, {"hash_requests": 10_000})
    assert after.owed_by_size == 0 and after.read == after.size_candidates == every.size_candidates
    assert after.nights == 0 and after.joined >= 2  # microsoft/resnet-18 and its mirror, one entity
    out = CliRunner().invoke(cli, ["hashes", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rows"] == live
    table = CliRunner().invoke(cli, ["hashes", "--db", str(db), "--all-tasks"])
    assert table.exit_code == 0 and "candidates by size" in table.output and f"{every.rows:,}" in table.output
    none = CliRunner().invoke(cli, ["hashes", "--db", str(db), "--task", "depth-estimation"])
    assert none.exit_code == 0 and "modelcat refresh --source hf" in none.output and "depth-estimation" in none.output
    bad = CliRunner().invoke(cli, ["hashes", "--db", str(db), "--task", "image-clasification"])
    assert bad.exit_code == 1 and "modelcat tasks" in bad.output
