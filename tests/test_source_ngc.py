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
from replay.ngc import NgcReplay, ngc_file, ngc_model


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


# ----------------------------------------------------------------- each model's own record and files
# Routes and shapes: NVIDIA's CLI (ngcsdk 4.37: registry/api/models.py get and list_files; the data
# classes Model, LicenseMetadata, Dataset, ModelFile), as tests/replay/ngc.py says.
WEIGHTS = b"parakeet weights, the bytes themselves"


def _detailed() -> list[dict]:
    return [
        ngc_model("nvidia/nemo/parakeet_ctc", dateModified="2026-09-21T00:00:00.000Z",
                  detail={"licenseTerms": [{"licenseId": "NVIDIA-Open-Model-License", "licenseVersion": "1.0",
                                            "needsAcceptance": False, "governingTerms": "See the license."}],
                          "publicDatasetUsed": {"name": "LibriSpeech", "link": "https://www.openslr.org/12",
                                                "license": "CC-BY-4.0"},
                          "builtBy": "NVIDIA", "publisher": "NVIDIA", "createdDate": "2025-05-01T00:00:00.000Z"},
                  files=[ngc_file("parakeet_ctc.nemo", WEIGHTS), ngc_file("README.md", b"read me"),
                         {"path": "broken.nemo", "sizeInBytes": 3, "sha256_base64": "not base64!"}]),
        # an id the normalizer does not know, whose governing terms link to the license
        ngc_model("nvidia/tao/peoplenet", dateModified="2026-09-20T00:00:00.000Z",
                  detail={"licenseTerms": [{"licenseId": "nv-model-terms", "licenseVersion": "2",
                                            "governingTerms": "Governed by https://www.nvidia.com/en-us/agreements/"
                                                              "enterprise-software/nvidia-open-model-license/."}]}),
        ngc_model("nvidia/resnet50_pyt_amp", dateModified="2026-09-19T00:00:00.000Z",
                  labels=[{"key": "framework", "values": ["PyTorch"]}],
                  detail={"licenseTerms": [{"licenseId": "Apache-2.0"}],
                          "publicDatasetUsed": {"name": "ImageNet"}}),
    ]


def test_each_new_model_is_read_on_its_own_for_license_training_data_and_weight_hashes(tmp_path, monkeypatch):
    import base64
    import hashlib

    with NgcReplay(_detailed()) as replay:
        monkeypatch.setenv("NGC_API_URL", replay.url)
        db = tmp_path / "catalog.db"
        [r] = refresh(db, ["ngc"])
        assert r.status == "ok" and r.details["details_read"] == 3 and r.details["details_failed"] == 0
        # the routes NVIDIA's CLI calls: the model (labels unresolved), then its latest version's files
        assert "/v2/org/nvidia/team/nemo/models/parakeet_ctc?resolve-labels=false" in replay.detail_requests
        assert "/v2/org/nvidia/team/nemo/models/parakeet_ctc/versions/1.0.0/files?page-size=1000" \
            in replay.detail_requests
        assert "/v2/org/nvidia/models/resnet50_pyt_amp?resolve-labels=false" in replay.detail_requests
        got = rows(db)
        parakeet = got["ngc:nvidia/nemo/parakeet_ctc"]
        assert (parakeet["license"], parakeet["license_family"], parakeet["license_raw"]) == \
            ("nvidia-open-model-license", "restricted", "NVIDIA-Open-Model-License")
        extra = json.loads(parakeet["extra"])
        assert extra["training_data"] == {"name": "LibriSpeech", "link": "https://www.openslr.org/12",
                                          "license": "CC-BY-4.0"}
        assert extra["license_terms"] == [{"id": "NVIDIA-Open-Model-License", "version": "1.0",
                                           "needs_acceptance": False}]
        assert extra["built_by"] == "NVIDIA" and extra["files"] == 3 and "license_note" not in extra
        assert parakeet["created_at"] == "2025-05-01T00:00:00.000Z"
        peoplenet, resnet = got["ngc:nvidia/tao/peoplenet"], got["ngc:nvidia/resnet50_pyt_amp"]
        assert (peoplenet["license"], peoplenet["license_raw"]) == ("nvidia-open-model-license", "nv-model-terms")
        assert (resnet["license"], resnet["license_family"], resnet["is_open"]) == ("apache-2.0", "permissive", 1)
        con = sqlite3.connect(db)
        datasets = dict(con.execute("SELECT model_id, dataset_id FROM model_datasets WHERE model_id LIKE 'ngc:%'"))
        assert datasets == {"ngc:nvidia/nemo/parakeet_ctc": "librispeech", "ngc:nvidia/resnet50_pyt_amp": "imagenet-1k"}
        # the weight file's sha256 (NGC gives it in base64) kept as hex, under its public address;
        # a README's and an undecodable hash are not evidence of anything
        files = con.execute("SELECT model_id, url, sha256 FROM model_files WHERE source = 'ngc'").fetchall()
        assert files == [("ngc:nvidia/nemo/parakeet_ctc",
                          "https://api.ngc.nvidia.com/v2/models/nvidia/nemo/parakeet_ctc/versions/1.0.0/files/"
                          "parakeet_ctc.nemo", hashlib.sha256(WEIGHTS).hexdigest())]
        assert base64.b64decode(replay._models["nvidia/nemo/parakeet_ctc"]["_files"][0]["sha256_base64"]).hex() \
            == files[0][2]
        con.close()
        # the next run: nothing changed, nothing asked (the model at the newest time the last run saw
        # is listed again, and confirmed from its row); one model changes: its record alone is read
        replay.detail_requests.clear()
        [r] = refresh(db, ["ngc"])
        assert r.details["mode"] == "incremental" and r.details["details_read"] == 0 and replay.detail_requests == []
        replay.update("nvidia/tao/peoplenet", dateModified="2026-10-01T00:00:00.000Z")
        [r] = refresh(db, ["ngc"])
        assert [p.split("?")[0] for p in replay.detail_requests] == [
            "/v2/org/nvidia/team/tao/models/peoplenet", "/v2/org/nvidia/team/tao/models/peoplenet/versions/1.0.0/files"]
        # a full sweep confirms the unchanged rows without a request each, and removes none of them
        replay.detail_requests.clear()
        [r] = refresh(db, ["ngc"], config={"ngc": {"full": True}})
        assert r.details["mode"] == "full" and r.counts.removed == 0 and replay.detail_requests == []
        assert rows(db)["ngc:nvidia/nemo/parakeet_ctc"]["license"] == "nvidia-open-model-license"
        # a modelcat that reads more of a detail reads every model's again, once
        import indexer.sources.ngc as source

        monkeypatch.setattr(source, "DETAIL_VERSION", source.DETAIL_VERSION + 1)
        [r] = refresh(db, ["ngc"])
        assert r.details["mode"] == "full" and r.details["details_read"] == 3
        replay.detail_requests.clear()
        [r] = refresh(db, ["ngc"])
        assert r.details["mode"] == "incremental" and replay.detail_requests == []


def test_a_version_with_many_files_is_read_page_by_page(tmp_path, monkeypatch):
    files = [ngc_file(f"shard_{i}.pt", b"shard %d" % i) for i in range(5)]
    with NgcReplay([ngc_model("nvidia/big", files=files)]) as replay:
        replay.file_page_size = 2
        monkeypatch.setenv("NGC_API_URL", replay.url)
        db = tmp_path / "catalog.db"
        [r] = refresh(db, ["ngc"])
        assert r.status == "ok"
        pages = [p for p in replay.detail_requests if "/files" in p]
        assert pages == ["/v2/org/nvidia/models/big/versions/1.0.0/files?page-size=1000",
                         "/v2/org/nvidia/models/big/versions/1.0.0/files?page-size=1000&page-number=1",
                         "/v2/org/nvidia/models/big/versions/1.0.0/files?page-size=1000&page-number=2"]
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM model_files WHERE model_id = 'ngc:nvidia/big'").fetchone()[0] == 5


def test_a_detail_that_fails_keeps_the_search_record_and_is_asked_again_the_next_run(tmp_path, monkeypatch):
    """A 404 (listed, then gone), a 403 (a model guests may not read) or 5xx past the retries: the
    model keeps what the search said, says why, and the next run asks for its detail again."""
    monkeypatch.setattr("indexer.sources.http.backoff", lambda *a: 0.0)
    with NgcReplay(_detailed()) as replay:
        monkeypatch.setenv("NGC_API_URL", replay.url)
        db = tmp_path / "catalog.db"
        real = replay._serve_detail
        refused = {"parakeet_ctc"}

        def serve(h, match, query):
            if match.group(3) in refused and match.group(4) is None:
                return replay._send(h, 403, b'{"requestStatus": {"statusCode": "FORBIDDEN"}}')
            return real(h, match, query)

        replay._serve_detail = serve
        [r] = refresh(db, ["ngc"], config={"ngc": {"retries": 1}})
        assert r.status == "ok" and (r.details["details_read"], r.details["details_failed"]) == (2, 1)
        row = rows(db)["ngc:nvidia/nemo/parakeet_ctc"]
        extra = json.loads(row["extra"])
        assert row["license"] == "unknown" and "HTTP 403" in extra["detail_note"] and "NGC_API_KEY" in extra["detail_note"]
        assert rows(db)["ngc:nvidia/resnet50_pyt_amp"]["license"] == "apache-2.0"  # the others go on
        # the next run lists nothing new, but asks for the detail it owes, and fills the row
        refused.clear()
        replay.detail_requests.clear()
        [r] = refresh(db, ["ngc"])
        assert r.details["mode"] == "incremental" and r.details["details_read"] == 1
        assert all("parakeet_ctc" in p for p in replay.detail_requests)
        row = rows(db)["ngc:nvidia/nemo/parakeet_ctc"]
        assert row["license"] == "nvidia-open-model-license" and "detail_note" not in json.loads(row["extra"])
        assert row["description"] == "parakeet_ctc model."  # the search record's fields are all kept
        # it changes on NGC, and its detail fails again: the row keeps what it holds (license, files)
        # rather than being rewritten without them, and the detail is owed to the next run
        replay.update("nvidia/nemo/parakeet_ctc", dateModified="2026-10-05T00:00:00.000Z", description="New text.")
        refused.add("parakeet_ctc")
        [r] = refresh(db, ["ngc"], config={"ngc": {"retries": 1}})
        assert r.status == "ok" and r.details["details_failed"] == 1
        row = rows(db)["ngc:nvidia/nemo/parakeet_ctc"]
        assert row["license"] == "nvidia-open-model-license" and row["description"] == "parakeet_ctc model."
        refused.clear()
        [r] = refresh(db, ["ngc"])
        row = rows(db)["ngc:nvidia/nemo/parakeet_ctc"]
        assert r.details["details_read"] == 1 and row["description"] == "New text."
        assert row["license"] == "nvidia-open-model-license"


def test_after_too_many_failures_in_a_row_a_run_stops_asking_and_owes_them(tmp_path, monkeypatch):
    monkeypatch.setattr("indexer.sources.http.backoff", lambda *a: 0.0)
    with NgcReplay(_models(6)) as replay:
        monkeypatch.setenv("NGC_API_URL", replay.url)
        db = tmp_path / "catalog.db"
        real = replay._serve_detail
        replay._serve_detail = lambda h, m, q: (replay.detail_requests.append(h.path), replay._send(h, 500, b"{}"))
        [r] = refresh(db, ["ngc"], config={"ngc": {"retries": 0, "detail_failures": 2}})
        assert r.status == "ok" and len(rows(db)) == 6 and r.details["details_failed"] == 6
        assert len(replay.detail_requests) == 2  # two failed in a row: no more asked this run
        replay._serve_detail = real
        [r] = refresh(db, ["ngc"])
        assert r.details["details_read"] == 6 and r.details["details_failed"] == 0

    # more owed than a run keeps: the next run reads every model's detail again (a full sweep)
    with NgcReplay(_models(6)) as replay:
        monkeypatch.setenv("NGC_API_URL", replay.url)
        monkeypatch.setattr("indexer.sources.ngc.RETRY_KEPT", 3)
        db = tmp_path / "again.db"
        real = replay._serve_detail
        replay._serve_detail = lambda h, m, q: replay._send(h, 500, b"{}")
        [r] = refresh(db, ["ngc"], config={"ngc": {"retries": 0, "detail_failures": 2}})
        assert r.details["details_failed"] == 6
        replay._serve_detail = real
        [r] = refresh(db, ["ngc"])
        assert r.details["mode"] == "full" and r.details["details_read"] == 6


def test_details_can_be_turned_off(tmp_path, monkeypatch):
    with NgcReplay(_detailed()) as replay:
        monkeypatch.setenv("NGC_API_URL", replay.url)
        db = tmp_path / "catalog.db"
        [r] = refresh(db, ["ngc"], config={"ngc": {"details": False}})
        assert r.status == "ok" and replay.detail_requests == [] and len(rows(db)) == 3
        assert "not read" in json.loads(rows(db)["ngc:nvidia/nemo/parakeet_ctc"]["extra"])["license_note"]
        # turned on again: every model's detail is read, though none changed
        [r] = refresh(db, ["ngc"])
        assert r.details["mode"] == "full" and r.details["details_read"] == 3
        assert rows(db)["ngc:nvidia/nemo/parakeet_ctc"]["license"] == "nvidia-open-model-license"


def test_an_ngc_model_and_its_copy_on_the_hub_are_one_entity_by_their_bytes_not_their_names(tmp_path, monkeypatch):
    """NVIDIA publishes many NGC models on the Hub too (NGC's nvidia/nemo/parakeet_ctc, the Hub's
    nvidia/parakeet_ctc). The NGC row holds its files' sha256; the Hub repositories of that name
    become hash candidates (`named_hash_requests`, on by default), whether or not they changed since
    the last run (NGC runs before the Hub: the same night); the same bytes make one entity, recorded
    with the evidence; a fine-tune of the same name (other bytes) stays its own. Each repository is
    asked once; a new copy is asked as the night's pages list it."""
    import hashlib

    from replay.hub import HubReplay

    digest = hashlib.sha256(WEIGHTS).hexdigest()

    def repo(rid: str, sha256: str) -> dict:
        return {"id": rid, "author": rid.split("/")[0], "pipeline_tag": "automatic-speech-recognition",
                "library_name": "nemo", "tags": ["nemo", "license:cc-by-4.0"], "downloads": 10,
                "siblings": [{"rfilename": "README.md"},
                             {"rfilename": "parakeet_ctc.nemo", "size": len(WEIGHTS), "blobId": "f" * 40,
                              "lfs": {"sha256": sha256, "size": len(WEIGHTS), "pointerSize": 134}}]}

    hub = HubReplay([repo("nvidia/parakeet_ctc", digest), repo("someone/Parakeet_CTC", "c" * 64),
                     repo("someone/other-model", digest)], page_size=10).start()
    try:
        with NgcReplay(_detailed()) as replay:
            monkeypatch.setenv("NGC_API_URL", replay.url)
            monkeypatch.setenv("HF_ENDPOINT", hub.url)
            monkeypatch.delenv("HF_TOKEN", raising=False)
            db = tmp_path / "catalog.db"
            [hf] = refresh(db, ["hf"])  # the Hub's repositories first, no NGC rows yet: nothing to ask
            assert hf.status == "ok" and "named_hash_requests" not in hf.details
            hub.reset_log()
            from indexer.sources import source_names

            assert source_names().index("ngc") < source_names().index("hf")  # a night runs NGC before the Hub
            ngc, hf = refresh(db, ["ngc", "hf"])
            assert ngc.status == hf.status == "ok"
            # nothing changed on the Hub: the new name's repositories are asked all the same
            assert hf.details["named_hash_requests"] == 2
            assert hub.count("/api/models/nvidia/parakeet_ctc/revision/") == 1
            assert hub.count("/api/models/someone/Parakeet_CTC/revision/") == 1
            assert hub.count("/api/models/someone/other-model/revision/") == 0  # another name: not a candidate
            con = sqlite3.connect(db)
            entity = dict(con.execute("SELECT id, entity_id FROM models WHERE id IN ('ngc:nvidia/nemo/parakeet_ctc', "
                                      "'hf:nvidia/parakeet_ctc', 'hf:someone/Parakeet_CTC')"))
            assert entity["hf:nvidia/parakeet_ctc"] == entity["ngc:nvidia/nemo/parakeet_ctc"]
            assert entity["hf:someone/Parakeet_CTC"] != entity["ngc:nvidia/nemo/parakeet_ctc"]
            assert con.execute("SELECT evidence, value FROM entity_merges").fetchall() == [("same weights hash", digest)]
            con.close()
            # `modelcat hashes`: the Hub's two repositories of that name are the name rule's
            # candidates, both read, one joined; none has a parameter count for the size rule
            from indexer.hashshare import hash_share
            from indexer.store import Catalog

            with Catalog.open(db, readonly=True, create=False) as cat:
                share = hash_share(cat, "automatic-speech-recognition")
            assert (share.rows, share.with_params, share.size_candidates) == (3, 0, 0)
            assert (share.named_candidates, share.read, share.owed, share.joined) == (2, 2, 0, 1)
            assert share.named_nights == 0 and abs(share.share - 2 / 3) < 1e-9
            hub.reset_log()
            [hf] = refresh(db, ["hf"])  # asked once: not again
            assert "named_hash_requests" not in hf.details and hub.count("/api/models/nvidia/parakeet_ctc/revision/") == 0
            # a new copy on the Hub, listed by the night's pages: asked as it comes, and joined
            hub.put(repo("mirror-org/parakeet_ctc", digest))
            [hf] = refresh(db, ["hf"])
            assert hf.details["named_hash_requests"] == 1
            con = sqlite3.connect(db)
            assert con.execute("SELECT count(DISTINCT entity_id) FROM models WHERE id IN ('ngc:nvidia/nemo/parakeet_ctc', "
                               "'hf:nvidia/parakeet_ctc', 'hf:mirror-org/parakeet_ctc')").fetchone()[0] == 1
            con.close()
    finally:
        hub.stop()
