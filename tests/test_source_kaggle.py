"""The kaggle source against a replay of Kaggle's Models API (tests/replay/kaggle.py: the routes,
parameters and shapes of Kaggle's own client): one row per framework variation, normalized like the
other sources (license, task, library, size, datasets, base model, loadability with what loads
it), incremental runs down to the newest model the last run saw, removals on a full sweep only,
credentials as Kaggle's tools read them and never stored, a clear `unavailable` offline or when
credentials are needed or refused, and faults retried."""

from __future__ import annotations

import json
import sqlite3

import pytest

from indexer.errors import SkipRecord
from indexer.refresh import refresh
from indexer.sources.kaggle import framework, normalize_kaggle
from replay.kaggle import KaggleReplay, kaggle_instance, kaggle_model


def _models(n: int) -> list[dict]:
    out = []
    for i in range(n):
        ref = f"{'google' if i % 2 else 'keras'}/model-{i:03d}"
        instances = [kaggle_instance("base", "pyTorch" if i % 2 else "keras")]
        if i % 3 == 0:
            instances.append(kaggle_instance("tflite-int8", "tfLite", totalUncompressedBytes=4_000_000))
        out.append(kaggle_model(ref, instances))
    return out


@pytest.fixture
def kaggle(monkeypatch, tmp_path):
    with KaggleReplay(_models(23)) as replay:
        monkeypatch.setenv("KAGGLE_API_URL", replay.url)
        for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))
        yield replay


def rows(db) -> dict[str, dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return {r["id"]: dict(r) for r in conn.execute("SELECT * FROM models WHERE source = 'kaggle' AND removed_at IS NULL")}


def _lists(replay) -> list[str]:
    return [p for p in replay.requests if p.startswith("/api/v1/models/list")]


def test_a_full_sweep_reads_every_model_and_writes_each_variation(kaggle, tmp_path):
    db = tmp_path / "catalog.db"
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"page_size": 5}})
    assert r.status == "ok" and r.details["mode"] == "full", r.error
    got = rows(db)
    assert len(got) == 23 + 8 == r.counts.new and r.details["models"] == 23
    assert len(_lists(kaggle)) == 5 and all("sortBy=update_time" in p and "pageSize=5" in p for p in _lists(kaggle))
    assert r.details["credentials"] == "none (anonymous)"
    row = got["kaggle:google/model-001/pyTorch/base"]
    assert row["url"] == "https://www.kaggle.com/models/google/model-001/pyTorch/base"
    assert (row["task"], row["library"], row["license"], row["license_family"], row["size_bytes"],
            row["size_is_estimate"], row["author"]) == \
        ("image-classification", "pytorch", "apache-2.0", "permissive", 46_800_000, 0, "google")
    assert row["license_raw"] == "Apache 2.0"
    assert json.loads(row["dataset_ids"]) == ["imagenet-1k"]
    extra = json.loads(row["extra"])
    assert extra["fine_tunable"] is True and extra["version"] == 1 and extra["framework"] == "pyTorch"
    assert extra["download"] == 'kagglehub.model_download("google/model-001/pyTorch/base")'
    # a PyTorch variation loads when its files are a timm or transformers folder (the note says so);
    # the other frameworks are not loadable, each saying what loads it
    assert (row["loadable"], row["load_backend"]) == (1, "kaggle") and "timm or transformers folder" in row["load_note"]
    keras = got["kaggle:keras/model-000/keras/base"]
    assert keras["library"] == "keras" and keras["loadable"] == 0 and "load it with keras" in keras["load_note"]
    lite = got["kaggle:keras/model-000/tfLite/tflite-int8"]
    assert lite["library"] == "tflite" and lite["size_bytes"] == 4_000_000 and "TensorFlow Lite" in lite["load_note"]


def test_incremental_runs_read_down_to_what_the_last_run_saw(kaggle, tmp_path):
    db = tmp_path / "catalog.db"
    cfg = {"kaggle": {"page_size": 5}}
    refresh(db, ["kaggle"], config=cfg)
    kaggle.requests.clear()
    [r] = refresh(db, ["kaggle"], config=cfg)
    assert r.details["mode"] == "incremental" and len(_lists(kaggle)) == 1 and r.counts.new == 0
    # one model gains a variation and a new license, one is added: the next run reads one page
    kaggle.update("google/model-007", instances=[kaggle_instance("base", "pyTorch", licenseName="MIT",
                                                                 url="https://www.kaggle.com/models/google/model-007/pyTorch/base"),
                                                 kaggle_instance("large", "transformers",
                                                                 url="https://www.kaggle.com/models/google/model-007/transformers/large")])
    kaggle.add(kaggle_model("acme/fresh", [kaggle_instance("v1", "jax")]))
    kaggle.requests.clear()
    [r] = refresh(db, ["kaggle"], config=cfg)
    assert r.status == "ok" and (r.counts.new, r.counts.updated) == (2, 1) and len(_lists(kaggle)) == 1
    got = rows(db)
    assert got["kaggle:google/model-007/pyTorch/base"]["license"] == "mit"
    large = got["kaggle:google/model-007/transformers/large"]
    assert large["load_backend"] == "kaggle" and "read by transformers" in large["load_note"]
    assert "JAX" in got["kaggle:acme/fresh/jax/v1"]["load_note"]
    # a model Kaggle no longer lists stays until a full sweep says it is gone
    kaggle.remove("keras/model-000")
    refresh(db, ["kaggle"], config=cfg)
    assert "kaggle:keras/model-000/keras/base" in rows(db)
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"page_size": 5, "full": True}})
    assert r.details["mode"] == "full" and r.counts.removed == 2
    assert not {"kaggle:keras/model-000/keras/base", "kaggle:keras/model-000/tfLite/tflite-int8"} & set(rows(db))


def test_credentials_as_kaggles_tools_read_them_are_sent_and_never_stored(kaggle, tmp_path, monkeypatch):
    db = tmp_path / "catalog.db"
    kaggle.anonymous, kaggle.key, kaggle.token = False, ("ada", "KEY-SECRET-123"), "TOKEN-SECRET-456"
    [r] = refresh(db, ["kaggle"])
    assert r.status == "unavailable" and "HTTP 401" in r.error and "KAGGLE_USERNAME and KAGGLE_KEY" in r.error
    assert "\n" not in r.error
    monkeypatch.setenv("KAGGLE_USERNAME", "ada")
    monkeypatch.setenv("KAGGLE_KEY", "wrong")
    [r] = refresh(db, ["kaggle"])
    assert r.status == "unavailable" and "KAGGLE_USERNAME/KAGGLE_KEY were refused" in r.error
    monkeypatch.setenv("KAGGLE_KEY", "KEY-SECRET-123")
    [r] = refresh(db, ["kaggle"])
    assert r.status == "ok" and len(rows(db)) == 31 and r.details["credentials"] == "KAGGLE_USERNAME/KAGGLE_KEY"
    # kaggle.json, where Kaggle's tools keep it
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    config = tmp_path / "kaggle-config"
    config.mkdir()
    (config / "kaggle.json").write_text(json.dumps({"username": "ada", "key": "KEY-SECRET-123"}))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config))
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"full": True}})
    assert r.status == "ok" and r.details["credentials"].endswith("kaggle.json")
    # a token comes first
    monkeypatch.setenv("KAGGLE_API_TOKEN", "TOKEN-SECRET-456")
    (config / "kaggle.json").write_text(json.dumps({"username": "ada", "key": "wrong"}))
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"full": True}})
    assert r.status == "ok" and r.details["credentials"] == "KAGGLE_API_TOKEN"
    for secret in (b"KEY-SECRET-123", b"TOKEN-SECRET-456"):
        assert not any(secret in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.parent != config)


def test_offline_the_source_is_unavailable_in_one_line_and_the_others_go_on(tmp_path, monkeypatch, list_source):
    monkeypatch.setenv("KAGGLE_API_URL", "https://www.kaggle.invalid")
    list_source("toy", [{"name": "a"}])
    db = tmp_path / "catalog.db"
    kaggle, toy = refresh(db, ["kaggle", "toy"])
    assert kaggle.status == "unavailable" and "cannot reach Kaggle's API" in kaggle.error and "\n" not in kaggle.error
    assert toy.status == "ok"


def test_faults_are_retried_and_a_cut_answer_is_not_a_page(kaggle, tmp_path, monkeypatch):
    monkeypatch.setattr("indexer.sources.http.backoff", lambda *a: 0.0)
    db = tmp_path / "catalog.db"
    kaggle.fail_next(1, 429, {"Retry-After": "0"})
    kaggle.fail_next(1, 503)
    kaggle.fail_next(1, 200, body=b'{"models": [{"ref": "goo')
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"page_size": 10}})
    assert r.status == "ok" and len(rows(db)) == 31 and r.details["retried"] == 3
    kaggle.fail_next(40, 500)
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"page_size": 10, "full": True}})
    assert r.status == "failed" and "HTTP 500" in r.error and len(rows(db)) == 31


def test_a_variation_made_from_another_names_it_as_its_base_model(kaggle, tmp_path):
    kaggle.add(kaggle_model("ada/tuned", [kaggle_instance(
        "v2", "pyTorch", modelInstanceType="kaggleVariant", trainingData=["https://www.kaggle.com/datasets/ada/cats"],
        baseModelInstanceInformation={"id": 9, "owner": {"slug": "google"}, "modelSlug": "model-001",
                                      "instanceSlug": "base", "framework": "pyTorch"})]))
    db = tmp_path / "catalog.db"
    refresh(db, ["kaggle"])
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT relation, related_id FROM model_relations WHERE model_id = ?",
                        ["kaggle:ada/tuned/pyTorch/v2"]).fetchall() == [("base_model", "kaggle:google/model-001/pyTorch/base")]
    extra = json.loads(rows(db)["kaggle:ada/tuned/pyTorch/v2"]["extra"])
    assert extra["instance_type"] == "kaggleVariant" and extra["training_data"] == ["https://www.kaggle.com/datasets/ada/cats"]


@pytest.mark.parametrize("spelling", ["pyTorch", "PY_TORCH", "MODEL_FRAMEWORK_PY_TORCH", "py_torch", "PyTorch"])
def test_the_framework_enum_is_read_however_a_client_spells_it(spelling):
    assert framework(spelling) == ("pyTorch", "pytorch")


@pytest.mark.parametrize("raw, why", [
    ({}, "not a Kaggle model variation"),
    ({"model": {"ref": "a/b"}, "instance": "x"}, "not a Kaggle model variation"),
    ({"model": {"ref": "a/b", "isPrivate": True}, "instance": {"slug": "v", "framework": "pyTorch"}}, "private"),
    ({"model": {"ref": "a/b"}, "instance": {"slug": "v", "framework": "quantumTorch"}}, "without owner"),
    ({"model": {"ref": "a/b"}, "instance": {"slug": "../../x", "framework": "pyTorch"}}, "not a valid Kaggle"),
])
def test_records_that_are_not_a_public_variation_are_skipped_with_the_reason(raw, why):
    with pytest.raises(SkipRecord, match=why):
        normalize_kaggle(raw)


def _point_at(monkeypatch, tmp_path, kaggle, hub) -> None:
    """The kaggle and hf sources at these replays, anonymous."""
    monkeypatch.setenv("KAGGLE_API_URL", kaggle.url)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "HF_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def test_a_kerashub_preset_on_kaggle_and_its_copy_on_the_hub_are_one_entity(tmp_path, monkeypatch):
    """The Keras team's mirroring tool (keras-hub, tools/admin/mirror_weights_on_hf.py) downloads
    each KerasHub preset from its Kaggle handle (keras/<model>/keras/<variation>) and uploads the
    same files to the Hub's keras/<variation>, skipping Gemma's: a statement of its publisher
    (schema/entities.yml, stated_copies), so the two rows are one entity, and the row says why. A
    Gemma preset, another owner's Keras variation of the same name and a PyTorch variation are not
    copies; a Hub repository no Kaggle row names stays its own."""
    from replay.hub import HubReplay

    def repo(rid: str) -> dict:
        return {"id": rid, "author": rid.split("/")[0], "pipeline_tag": "image-classification",
                "library_name": "keras-hub", "tags": ["keras-hub", "license:apache-2.0"], "downloads": 5}

    models = [kaggle_model("keras/efficientnet", [kaggle_instance("efficientnet_b0_ra_imagenet", "keras"),
                                                  kaggle_instance("efficientnet_b0_ra_imagenet_pt", "pyTorch")]),
              kaggle_model("keras/gemma", [kaggle_instance("gemma_2b_en", "keras")]),
              kaggle_model("someone/efficientnet", [kaggle_instance("efficientnet_b0_ra_imagenet", "keras")])]
    hub = HubReplay([repo("keras/efficientnet_b0_ra_imagenet"), repo("keras/gemma_2b_en"),
                     repo("keras/resnet_50_imagenet")], page_size=10).start()
    try:
        with KaggleReplay(models) as replay:
            _point_at(monkeypatch, tmp_path, replay, hub)
            db = tmp_path / "catalog.db"
            assert all(r.status == "ok" for r in refresh(db, ["hf", "kaggle"]))
    finally:
        hub.stop()
    con = sqlite3.connect(db)
    entity = dict(con.execute("SELECT id, entity_id FROM models"))
    preset = "kaggle:keras/efficientnet/keras/efficientnet_b0_ra_imagenet"
    assert entity[preset] == entity["hf:keras/efficientnet_b0_ra_imagenet"] == "hf:keras/efficientnet_b0_ra_imagenet"
    assert entity["kaggle:keras/gemma/keras/gemma_2b_en"] != entity["hf:keras/gemma_2b_en"]
    assert entity["kaggle:someone/efficientnet/keras/efficientnet_b0_ra_imagenet"] != entity[preset]
    assert entity["kaggle:keras/efficientnet/pyTorch/efficientnet_b0_ra_imagenet_pt"] != entity[preset]
    assert entity["hf:keras/resnet_50_imagenet"] == "hf:keras/resnet_50_imagenet"
    extra = json.loads(con.execute("SELECT extra FROM models WHERE id = ?", (preset,)).fetchone()[0])
    assert extra["same_weights_as"] == "hf:keras/efficientnet_b0_ra_imagenet"
    assert "mirror_weights_on_hf.py" in extra["same_weights_evidence"]
    con.close()
    # the model page of either shows the other id: one model, two places to get it
    from indexer.store import Catalog

    with Catalog.open(db, readonly=True, create=False) as cat:
        assert cat.get_model(preset)["same_entity"] == ["hf:keras/efficientnet_b0_ra_imagenet"]
        assert cat.get_model("hf:keras/efficientnet_b0_ra_imagenet")["same_entity"] == [preset]


def test_a_signed_kaggle_variation_and_its_copy_on_the_hub_are_one_entity_by_their_bytes(tmp_path, monkeypatch):
    """Kaggle's file list has no hashes; a version its publisher signed (kagglehub's
    model_upload(..., sigstore=True)) carries .kaggle/signing.json, the model_signing manifest with
    each file's sha256. The source reads it for a bounded number of variations a run (the file list,
    then the manifest), remembers the version read, and the weight file's sha256 joins the variation
    to the Hub repository that holds the same bytes (its LFS sha256): one entity, with the evidence.
    An unsigned variation costs its file list once, a manifest serialized by shards names no whole
    file, and a version read before is not asked again."""
    import hashlib

    from replay.hub import HubReplay
    from replay.kaggle import signing_json

    weights = b"the weights, byte for byte"
    digest = hashlib.sha256(weights).hexdigest()
    signed = "acme/vit/pyTorch/base"
    files = {"config.json": b'{"architecture": "vit_tiny_patch16_224"}', "model.safetensors": weights}
    models = [kaggle_model("acme/vit", [kaggle_instance("base", "pyTorch", versionNumber=2),
                                        kaggle_instance("plain", "pyTorch", versionNumber=1),
                                        kaggle_instance("sharded", "pyTorch", versionNumber=1)])]
    hub = HubReplay([{"id": "acme/vit-base", "author": "acme", "pipeline_tag": "image-classification",
                      "library_name": "timm", "tags": ["timm", "license:apache-2.0"], "downloads": 9,
                      "siblings": [{"rfilename": "model.safetensors", "size": len(weights), "blobId": "e" * 40,
                                    "lfs": {"sha256": digest, "size": len(weights), "pointerSize": 134}}]}],
                    page_size=10).start()
    try:
        with KaggleReplay(models) as replay:
            replay.add_files(signed, 2, {**files, ".kaggle/signing.json": signing_json(files)})
            replay.add_files("acme/vit/pyTorch/plain", 1, files)
            replay.add_files("acme/vit/pyTorch/sharded", 1,
                             {**files, ".kaggle/signing.json": signing_json(files, method="shards")})
            _point_at(monkeypatch, tmp_path, replay, hub)
            db = tmp_path / "catalog.db"
            [k] = refresh(db, ["kaggle"])
            assert k.status == "ok" and k.details["signature_requests"] == 3 and k.details["signed_versions"] == 1
            assert f"/api/v1/models/{signed}/2/download/.kaggle/signing.json" in replay.requests
            assert not any(p.startswith("/api/v1/models/acme/vit/pyTorch/plain/1/download") for p in replay.requests)
            con = sqlite3.connect(db)
            assert con.execute("SELECT model_id, url, sha256 FROM model_files WHERE source = 'kaggle'").fetchall() == [
                (f"kaggle:{signed}", f"https://www.kaggle.com/api/v1/models/{signed}/2/download/model.safetensors",
                 digest)]
            con.close()
            # the Hub's repository with the same bytes, named <model>-<variation>: a candidate for a
            # hash request (the name only chooses; the bytes join), asked the next time hf runs
            [h] = refresh(db, ["hf"], config={"hf": {"page_size": 10}})
            assert h.status == "ok" and h.details["named_hash_requests"] == 1
            con = sqlite3.connect(db)
            entity = dict(con.execute("SELECT id, entity_id FROM models"))
            assert entity[f"kaggle:{signed}"] == entity["hf:acme/vit-base"]
            assert entity["kaggle:acme/vit/pyTorch/plain"] != entity["hf:acme/vit-base"]  # the same files, unsigned: no evidence
            assert con.execute("SELECT evidence, value FROM entity_merges").fetchall() == [("same weights hash", digest)]
            con.close()
            hub.reset_log()
            replay.requests.clear()
            [k] = refresh(db, ["kaggle"], config={"kaggle": {"full": True}})  # every version read before
            assert "signature_requests" not in k.details and not any("/files" in p for p in replay.requests)
            con = sqlite3.connect(db)
            assert con.execute("SELECT count(*) FROM model_files WHERE source = 'kaggle'").fetchone()[0] == 1
            con.close()
    finally:
        hub.stop()


def test_spare_signature_requests_read_the_versions_the_catalog_holds_unread(kaggle, tmp_path):
    """A first catalog lists more variations than a night's `signature_requests`: the nights after
    spend what the listing left on the rows whose version was not read (their model read again for
    a whole record), oldest first, until every one is; then nothing more is asked."""
    db = tmp_path / "catalog.db"
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"signature_requests": 10}})
    assert r.status == "ok" and r.details["signature_requests"] == 10
    unread = lambda: sqlite3.connect(db).execute(  # noqa: E731
        "SELECT count(*) FROM models WHERE source = 'kaggle' AND removed_at IS NULL "
        "AND json_extract(extra, '$.files_read') IS NOT sha").fetchone()[0]
    total = len(rows(db))
    assert unread() == total - 10
    nights = 0
    while unread() and nights < 10:
        [r] = refresh(db, ["kaggle"], config={"kaggle": {"signature_requests": 10}})
        assert r.status == "ok" and r.details["mode"] == "incremental" and r.details["backfilled_models"] >= 1
        nights += 1
    assert unread() == 0 and nights == -(-(total - 10) // 10)
    # a model gone from Kaggle since: its rows are not this night's work, the run goes on
    db2 = tmp_path / "gone.db"
    refresh(db2, ["kaggle"], config={"kaggle": {"signature_requests": 10}})
    kaggle.remove("keras/model-000")  # the oldest: unread after the first night
    mark = len(kaggle.requests)
    for _ in range(4):
        [r] = refresh(db2, ["kaggle"], config={"kaggle": {"signature_requests": 10}})
        assert r.status == "ok"
    assert "/api/v1/models/keras/model-000/get" in kaggle.requests[mark:]
    replay_before = len(kaggle.requests)
    [r] = refresh(db, ["kaggle"], config={"kaggle": {"signature_requests": 10}})
    assert "signature_requests" not in r.details and "backfilled_models" not in r.details
    assert not any("/files" in p for p in kaggle.requests[replay_before:])
