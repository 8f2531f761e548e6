"""Conformance tier: our code against real recorded data in ../shared/fixtures-raw.

Skipped where ../shared is absent; under CI=true it must run (the `shared_fixtures` fixture fails).
"""

import csv
import json
import re

import pytest

from indexer.normalize import arxiv_ids, canonical_dataset, normalize_license, normalize_task
from indexer.store import Catalog

pytestmark = pytest.mark.conformance


def model_infos(shared):
    for path in sorted((shared / "huggingface" / "model_info").glob("*.json")):
        if path.name.startswith("_") or "__expand-" in path.name:
            continue
        yield path.name, json.loads(path.read_text())


def test_timm_parameter_counts_equal_timms_published_ones(shared_fixtures, built_catalog):
    """timm's results-imagenet.csv lists param_count (millions, 2 decimals) for 1556 tags:
    our meta-device counts must agree with every one that the installed timm has."""
    with Catalog.open(built_catalog, readonly=True, create=False) as cat:
        ours = dict(cat.conn.execute("SELECT name, num_params FROM models WHERE source = 'timm'").fetchall())
    compared, wrong = 0, []
    with open(shared_fixtures / "timm" / "results-imagenet.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["model"] not in ours:
                continue
            compared += 1
            published = float(row["param_count"].replace(",", ""))
            if abs(round(ours[row["model"]] / 1e6, 2) - published) > 0.011:
                wrong.append((row["model"], published, ours[row["model"]]))
    assert compared > 1400 and wrong == []


def test_timm_results_models_are_in_the_catalog(shared_fixtures, built_catalog):
    with Catalog.open(built_catalog, readonly=True, create=False) as cat:
        ours = {r[0] for r in cat.conn.execute("SELECT name FROM models WHERE source = 'timm'")}
    with open(shared_fixtures / "timm" / "results-imagenet.csv", newline="") as f:
        listed = {row["model"] for row in csv.DictReader(f)}
    # timm's results cover published ImageNet classifiers; the installed timm knows them all
    assert len(listed - ours) <= len(listed) // 100, sorted(listed - ours)[:20]


def test_hub_license_tags_are_all_known(shared_fixtures):
    seen = 0
    for name, info in model_infos(shared_fixtures):
        raws = [t.split(":", 1)[1] for t in info.get("tags", []) if t.startswith("license:")]
        card = (info.get("cardData") or {}).get("license")
        for raw in raws + ([card] if card else []):
            lic = normalize_license(raw)
            seen += 1
            assert lic.id not in ("other", "unknown") or raw in ("other", "unknown"), (name, raw)
            assert lic.family != "unknown" or raw in ("other", "unknown"), (name, raw)
    assert seen >= 30


def test_github_license_spdx_ids_and_names_are_known(shared_fixtures):
    text = "\n".join(p.read_text(errors="replace") for p in (shared_fixtures / "github").rglob("*") if p.is_file())
    spdx = set(re.findall(r'"spdx_id"\s*:\s*"([^"]+)"', text))
    names = set(re.findall(r'"license"\s*:\s*\{[^}]*"name"\s*:\s*"([^"]+)"', text))
    assert spdx and names
    for raw in spdx | names:
        lic = normalize_license(raw)
        if raw == "NOASSERTION":
            assert lic.id == "unknown"
        else:
            assert lic.id not in ("other", "unknown"), raw


def test_hub_pipeline_tags_are_tasks(shared_fixtures):
    tags = {info["pipeline_tag"] for _, info in model_infos(shared_fixtures) if info.get("pipeline_tag")}
    assert len(tags) >= 8
    for tag in tags:
        assert normalize_task(tag) == tag


def test_hub_dataset_tags(shared_fixtures):
    found = {}
    for name, info in model_infos(shared_fixtures):
        for t in info.get("tags", []):
            if t.startswith("dataset:"):
                found[t.split(":", 1)[1]] = canonical_dataset(t.split(":", 1)[1])
    known = {k: v for k, v in found.items() if v}
    assert known == {
        "bookcorpus": "bookcorpus", "c4": "c4", "coco": "coco", "common_voice": "common-voice", "glue": "glue",
        "imagenet-1k": "imagenet-1k", "imagenet-21k": "imagenet-21k", "librispeech_asr": "librispeech",
        "wikipedia": "wikipedia", "ljspeech": "ljspeech",  # LJ Speech (datasets.yml's audio datasets)
    }
    # the rest are Hub dataset repos the alias table does not name: no guesses
    # (e.g. embedding-data/coco_captions is not COCO)
    assert found["embedding-data/coco_captions"] is None and len(found) > 40


def test_hub_arxiv_tags(shared_fixtures):
    for name, info in model_infos(shared_fixtures):
        tags = [t for t in info.get("tags", []) if t.startswith("arxiv:")]
        assert arxiv_ids(tags, bare=False) == [t.split(":", 1)[1] for t in tags], name
    vit = json.loads((shared_fixtures / "huggingface" / "model_info" / "google__vit-base-patch16-224.json").read_text())
    assert "2010.11929" in arxiv_ids(vit["tags"], bare=False)


def test_arxiv_atom_entry_ids(shared_fixtures):
    folder = shared_fixtures / "arxiv" / "arxiv.py-tests-fixtures"
    checked = 0
    for path in folder.glob("*.json"):
        body = json.loads(path.read_text())["body"].encode("latin-1").decode("utf-8", errors="replace")
        for entry_id in re.findall(r"<entry>\s*<id>([^<]+)</id>", body):
            ids = arxiv_ids(entry_id, bare=False)
            if "/abs/" not in entry_id:  # an error feed's entry: http://arxiv.org/api/errors#...
                assert ids == [], entry_id
                continue
            expected = re.sub(r"v\d+$", "", entry_id.rsplit("/abs/", 1)[1])
            assert ids == [expected], entry_id
            checked += 1
    assert checked >= 10


# ---------------------------------------------------------------------- the Hub source
def test_every_recorded_hub_body_normalizes_consistently(shared_fixtures):
    from indexer.normalize.size import DTYPE_BYTES
    from indexer.sources.hf import normalize_hub

    count = 0
    for name, info in model_infos(shared_fixtures):
        rec = normalize_hub(info)
        count += 1
        assert rec.id == f"hf:{info['id']}" and rec.sha == info.get("sha")
        if info.get("pipeline_tag"):
            assert rec.task == info["pipeline_tag"] and rec.task_raw == info["pipeline_tag"]
        st = info.get("safetensors")
        if st:
            assert rec.num_params == st["total"]
            assert rec.size_bytes == sum(n * DTYPE_BYTES[d] for d, n in st["parameters"].items())
            assert rec.size_is_estimate is False
        else:
            assert rec.size_bytes is None  # usedStorage is the repo, not the weights
        assert rec.repo_bytes == info.get("usedStorage")
        tagged = {t[8:] for t in info.get("tags", []) if t.startswith("dataset:")}
        assert {d.raw for d in rec.datasets} >= tagged
        arxiv = {t[6:] for t in info.get("tags", []) if t.startswith("arxiv:")}
        assert {p.paper_id[6:] for p in rec.papers} == arxiv
        if info.get("gated"):
            assert rec.gated == info["gated"]
    assert count >= 30


def test_recorded_model_index_results_become_metrics(shared_fixtures):
    from indexer.sources.hf import normalize_hub

    info = json.loads((shared_fixtures / "huggingface" / "model_info" / "deepset__roberta-base-squad2.json").read_text())
    rec = normalize_hub(info)
    assert rec.metrics and all(m.value == m.value for m in rec.metrics)
    results = info["cardData"]["model-index"][0]["results"]
    assert len({(m.dataset_raw, m.metric_raw) for m in rec.metrics}) == sum(len(r["metrics"]) for r in results)


def test_recorded_bodies_through_the_replay_hub_end_to_end(shared_fixtures, tmp_path, monkeypatch):
    from indexer.refresh import refresh
    from replay.hub import HubReplay

    bodies = [info for _, info in model_infos(shared_fixtures)]
    with HubReplay(bodies, page_size=7) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        [r] = refresh(tmp_path / "c.db", ["hf"], config={"hf": {"page_size": 7}})
    assert r.status == "ok" and r.counts.skipped == 0
    assert r.counts.new == len({b["id"] for b in bodies if not b.get("private")})
    with Catalog.open(tmp_path / "c.db", readonly=True, create=False) as cat:
        vit = cat.get_model("hf:google/vit-base-patch16-224")
        assert (vit["task"], vit["license"], vit["num_params"]) == ("image-classification", "apache-2.0", 86567656)
        assert {d["dataset_id"] for d in vit["datasets"]} >= {"imagenet-1k"}
        assert "arxiv:2010.11929" in {p["id"] for p in vit["papers"]}
        llama = cat.get_model("hf:meta-llama/Llama-3.1-8B-Instruct")
        assert (llama["gated"], llama["license_family"]) == ("manual", "restricted")


def test_loadability_of_real_hub_records(shared_fixtures):
    """Every recorded model_info: a transformers repository with PyTorch weights loads through
    the transformers backend, a diffusers pipeline or another library's model does not (saying
    why), a gated one notes the token it needs."""
    from indexer.sources.hf import normalize_hub

    seen = {}
    for name, raw in model_infos(shared_fixtures):
        rec = normalize_hub(raw)
        rec.set_loadability()
        seen[rec.id] = rec
        formats = {"pytorch", "safetensors"} & set(raw.get("tags") or [])
        if "transformers" in (raw.get("tags") or []) and formats:
            assert (rec.loadable, rec.load_backend) == (True, "transformers"), name
        elif rec.library in ("diffusers", "espnet", "speechbrain"):
            assert rec.loadable is False and rec.load_note, name
        if rec.loadable and raw.get("gated"):
            assert "HF_TOKEN" in rec.load_note, name
    assert seen["hf:CompVis/stable-diffusion-v1-4"].load_note.startswith("a diffusers pipeline")
    assert seen["hf:sentence-transformers/all-MiniLM-L6-v2"].load_backend == "transformers"
    assert seen["hf:google/vit-base-patch16-224"].load_backend == "transformers"
    assert sum(r.loadable for r in seen.values()) >= 25


def test_transformers_task_classes_know_the_real_architectures(shared_fixtures):
    """For every recorded transformers repository, one of the Auto classes the loader tries for
    its task knows its architecture (config.model_type): the task's own class wherever
    transformers has one, so the model loads with its task head."""
    from indexer.sources.hf import normalize_hub
    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import transformers

    from indexer.loader.transformers_backend import AUTO_CLASSES, auto_classes

    def knows(auto: str, model_type: str) -> bool:
        return model_type in getattr(transformers, auto)._model_mapping._model_mapping

    checked, base_only = 0, []
    for name, raw in model_infos(shared_fixtures):
        rec = normalize_hub(raw)
        model_type = (raw.get("config") or {}).get("model_type")
        if rec.library != "transformers" or not model_type or rec.task is None:
            continue
        tried = [a for a in auto_classes(rec.task) if knows(a, model_type)]
        assert tried, (name, rec.task, model_type)
        if tried[0] == "AutoModel" and rec.task in AUTO_CLASSES:
            base_only.append(name)
        checked += 1
    assert checked >= 25 and base_only == []
