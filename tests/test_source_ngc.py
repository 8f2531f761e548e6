"""The ngc source against a replay of NGC's catalog search API (tests/replay/ngc.py: the request and
answer shapes NGC's clients use): every page, the models once each, incremental runs down to the
newest model the last run saw, removals on a full sweep only, an API key sent where set and never
stored, a clear `unavailable` offline or when the key is refused, and faults retried."""

from __future__ import annotations

import json
import sqlite3

import pytest

from indexer.errors import SkipRecord
from indexer.refresh import refresh
from indexer.sources.ngc import normalize_ngc
from replay.ngc import NgcReplay, ngc_model


def _models(n: int, day: int = 20) -> list[dict]:
    return [ngc_model(f"nvidia/{'tao' if i % 2 else 'nemo'}/model_{i:03d}",
                      dateModified=f"2026-09-{day:02d}T04:{i // 60:02d}:{i % 60:02d}.000Z") for i in range(n)]


@pytest.fixture
def ngc(monkeypatch):
    with NgcReplay(_models(23)) as replay:
        monkeypatch.setenv("NGC_API_URL", replay.url)
        monkeypatch.delenv("NGC_API_KEY", raising=False)
        yield replay


def rows(db) -> dict[str, dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return {r["id"]: dict(r) for r in conn.execute("SELECT * FROM models WHERE source = 'ngc' AND removed_at IS NULL")}


def test_a_full_sweep_reads_every_page_and_each_model_once(ngc, tmp_path):
    db = tmp_path / "catalog.db"
    [r] = refresh(db, ["ngc"], config={"ngc": {"page_size": 5}})
    assert r.status == "ok" and r.details["mode"] == "full", r.error
    got = rows(db)
    assert len(got) == 23 and r.counts.new == 23  # the answer lists each model twice (_scored, MODEL): once here
    assert [q["page"] for q in ngc.requests] == [0, 1, 2, 3, 4]
    assert all(q["orderBy"] == [{"field": "dateModified", "value": "DESC"}] and q["pageSize"] == 5
               for q in ngc.requests)
    row = got["ngc:nvidia/nemo/model_000"]
    assert row["url"] == "https://catalog.ngc.nvidia.com/orgs/nvidia/teams/nemo/models/model_000"
    assert (row["task"], row["library"], row["size_bytes"], row["size_is_estimate"]) == \
        ("automatic-speech-recognition", "nemo", 123_456_789, 0)
    extra = json.loads(row["extra"])
    assert extra["latest_version"] == "1.0.0" and extra["format"] == ".nemo" and extra["precision"] == ["FP32"]
    # a NeMo checkpoint: not a torch model modelcat loads, and the row says what does
    assert row["loadable"] == 0 and "NeMo" in row["load_note"] and "nemo_toolkit" in row["load_note"]


def test_incremental_runs_read_down_to_what_the_last_run_saw(ngc, tmp_path):
    db = tmp_path / "catalog.db"
    refresh(db, ["ngc"], config={"ngc": {"page_size": 5}})
    ngc.requests.clear()
    [r] = refresh(db, ["ngc"], config={"ngc": {"page_size": 5}})
    assert r.details["mode"] == "incremental" and len(ngc.requests) == 1 and r.counts.new == 0  # nothing new
    # one model changes, one is added: the next run reads the first page only and writes both
    ngc.update("nvidia/tao/model_007", description="Better now.", dateModified="2026-10-01T00:00:00.000Z")
    ngc.add(ngc_model("nvidia/riva/fresh", dateModified="2026-10-02T00:00:00.000Z"))
    ngc.requests.clear()
    [r] = refresh(db, ["ngc"], config={"ngc": {"page_size": 5}})
    assert r.status == "ok" and (r.counts.new, r.counts.updated) == (1, 1) and len(ngc.requests) == 1
    assert rows(db)["ngc:nvidia/tao/model_007"]["description"] == "Better now."
    # a model NGC no longer lists stays until a full sweep says it is gone
    ngc.remove("nvidia/nemo/model_000")
    refresh(db, ["ngc"], config={"ngc": {"page_size": 5}})
    assert "ngc:nvidia/nemo/model_000" in rows(db)
    [r] = refresh(db, ["ngc"], config={"ngc": {"page_size": 5, "full": True}})
    assert r.details["mode"] == "full" and r.counts.removed == 1 and "ngc:nvidia/nemo/model_000" not in rows(db)


def test_the_api_key_is_sent_and_never_stored(ngc, tmp_path, monkeypatch):
    db = tmp_path / "catalog.db"
    ngc.api_key = "nvapi-SECRET-123"
    [r] = refresh(db, ["ngc"])
    assert r.status == "unavailable" and "HTTP 401" in r.error and "set NGC_API_KEY" in r.error
    assert "\n" not in r.error
    monkeypatch.setenv("NGC_API_KEY", "nvapi-wrong")
    [r] = refresh(db, ["ngc"])
    assert r.status == "unavailable" and "NGC_API_KEY was refused" in r.error
    monkeypatch.setenv("NGC_API_KEY", "nvapi-SECRET-123")
    [r] = refresh(db, ["ngc"])
    assert r.status == "ok" and len(rows(db)) == 23
    assert b"nvapi-SECRET-123" not in db.read_bytes() and not any(
        b"nvapi-SECRET-123" in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_offline_the_source_is_unavailable_in_one_line_and_the_others_go_on(tmp_path, monkeypatch, list_source):
    monkeypatch.setenv("NGC_API_URL", "https://api.ngc.invalid")
    list_source("toy", [{"name": "a"}])
    db = tmp_path / "catalog.db"
    ngc, toy = refresh(db, ["ngc", "toy"])
    assert ngc.status == "unavailable" and "cannot reach NGC's catalog API" in ngc.error and "\n" not in ngc.error
    assert toy.status == "ok"


def test_faults_are_retried_and_a_cut_answer_is_not_a_page(ngc, tmp_path, monkeypatch):
    monkeypatch.setattr("indexer.sources.http.backoff", lambda *a: 0.0)
    db = tmp_path / "catalog.db"
    ngc.fail_next(1, 429, {"Retry-After": "0"})
    ngc.fail_next(1, 503)
    ngc.fail_next(1, 200, body=b'{"results": [{"resources": [')
    [r] = refresh(db, ["ngc"], config={"ngc": {"page_size": 10}})
    assert r.status == "ok" and len(rows(db)) == 23 and r.details["retried"] == 3
    # a server that keeps failing: the run fails, the rows written before stay
    ngc.fail_next(10, 500)
    [r] = refresh(db, ["ngc"], config={"ngc": {"page_size": 10, "full": True}})
    assert r.status == "failed" and "HTTP 500" in r.error and len(rows(db)) == 23


@pytest.mark.parametrize("raw, why", [
    ({}, "not an NGC model"),
    ({"resourceId": 7}, "not an NGC model"),
    ({"resourceId": "nvidia/../../etc"}, "not a valid NGC model id"),
    ({"resourceId": "nvidia/x\x1b[2J"}, "not a valid NGC model id"),
])
def test_records_that_are_not_a_model_are_skipped(raw, why):
    with pytest.raises(SkipRecord, match=why):
        normalize_ngc(raw)


def test_hostile_fields_are_dropped_not_stored():
    rec = normalize_ngc(ngc_model("nvidia/x", attributes=[{"key": "latestVersionSizeInBytes", "value": -4},
                                                          {"key": "latestVersionIdStr", "value": "1; rm -rf /"}],
                                  labels=[{"key": "framework", "values": [None, {"a": 1}]}], isPublic="yes"))
    assert rec.size_bytes is None and "public" not in rec.extra and "download" not in rec.extra
    assert rec.url == "https://catalog.ngc.nvidia.com/orgs/nvidia/models/x" and rec.license == "unknown"


def test_the_command_lines_full_flag_sweeps_ngc_too(ngc, tmp_path):
    from click.testing import CliRunner

    from indexer.cli import cli

    db = tmp_path / "catalog.db"
    refresh(db, ["ngc"])
    out = CliRunner().invoke(cli, ["refresh", "--db", str(db), "--source", "ngc", "--full"])
    assert out.exit_code == 0, out.output
    last = json.loads(sqlite3.connect(db).execute(
        "SELECT details FROM runs WHERE source = 'ngc' ORDER BY id DESC LIMIT 1").fetchone()[0])
    assert last["mode"] == "full"
