"""The real huggingface_hub client against tests/replay: an in-memory Hub API on 127.0.0.1.

Proves the replay is faithful where the client (huggingface_hub 2.4.0) cares: list pages and the
absolute `Link: <...>; rel="next"`, `expand` shapes, filters and sorts, key-based cursors, 307
renames, 404 error codes, and 429/5xx retries through http_backoff (each retry sleeps >= 1 s, so
there are only a few).
"""

from __future__ import annotations

import gc
import math
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from huggingface_hub import HfApi, ModelInfo
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session, http_backoff

from replay import ODD_CASES, TIMM_NAMES, HubReplay, synthetic_models
from replay.hub import DEFAULT_LIST_FIELDS, EXPAND_KEYS

# Every expand property huggingface_hub 2.4.0 accepts that the task's catalog cares about.
EXPAND_ALL = ["author", "cardData", "createdAt", "disabled", "downloads", "gated", "lastModified",
              "library_name", "likes", "pipeline_tag", "private", "safetensors", "sha", "tags", "usedStorage",
              "siblings", "trendingScore", "model-index", "config", "transformersInfo", "spaces", "widgetData",
              "downloadsAllTime", "gguf", "inference", "evalResults", "mask_token", "resourceGroup",
              "inferenceProviderMapping"]


def _list_requests(hub: HubReplay):
    return [(m, p, q) for m, p, q in hub.requests if p == "/api/models"]


def _order(models, key, desc=True):
    """The replay's list order: by key (desc), ties by _id ascending."""
    by_id = sorted(models, key=lambda m: m["_id"])
    return [m["id"] for m in sorted(by_id, key=lambda m: m[key], reverse=desc)]


@pytest.fixture
def models():
    return synthetic_models(50, seed=1)


@pytest.fixture
def hub(models):
    with HubReplay(models, page_size=7) as h:
        yield h


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.url, token=False)


# ------------------------------------------------------------------------------------- listing
def test_list_models_expand_follows_absolute_link_across_pages(hub, api, models):
    assert set(EXPAND_ALL) <= EXPAND_KEYS
    got = list(api.list_models(expand=EXPAND_ALL))

    assert all(isinstance(m, ModelInfo) for m in got)
    ids = [m.id for m in got]
    assert len(ids) == len(set(ids)) == 50
    assert ids == [m["id"] for m in sorted(models, key=lambda m: m["_id"])]  # default order: _id
    by_id = {m["id"]: m for m in models}
    for m in got:
        rec = by_id[m.id]
        assert m.sha == rec["sha"] and m.downloads == rec["downloads"] and m.tags == rec["tags"]
        assert m.last_modified is not None and m.created_at <= m.last_modified
        assert (m.safetensors is None) == ("safetensors" not in rec)
        assert [s.rfilename for s in m.siblings] == [s["rfilename"] for s in rec["siblings"]]

    pages = _list_requests(hub)
    assert len(pages) == math.ceil(50 / 7) == 8
    assert "cursor" not in pages[0][2]
    for _, _, q in pages[1:]:  # the client followed the next links: same params + a cursor
        assert q["expand"] == EXPAND_ALL and len(q["cursor"]) == 1

    # Raw: items carry only _id, id and the expanded keys the record has; the link is absolute.
    session = get_session()
    r = session.get(f"{hub.url}/api/models", params=[("expand", "sha"), ("expand", "safetensors"), ("limit", 5)])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    items = r.json()
    assert len(items) == 5
    for it in items:
        assert {"_id", "id", "sha"} <= set(it) <= {"_id", "id", "sha", "safetensors"}
        assert re.fullmatch(r"[0-9a-f]{24}", it["_id"])
    nxt = r.links["next"]["url"]
    assert nxt.startswith(f"{hub.url}/api/models?")
    q = parse_qs(urlsplit(nxt).query)
    assert q["expand"] == ["sha", "safetensors"] and q["limit"] == ["5"] and len(q["cursor"]) == 1
    last = session.get(f"{hub.url}/api/models", params={"limit": 1000})
    assert len(last.json()) == 50 and "next" not in last.links  # no link once nothing remains


def test_default_and_full_list_fields(hub, models):
    session = get_session()
    plain = session.get(f"{hub.url}/api/models", params={"limit": 50}).json()
    for it in plain:
        assert {"_id", "id", "modelId", "tags", "downloads", "likes", "private", "createdAt"} <= set(it)
        assert set(it) <= set(DEFAULT_LIST_FIELDS)
    full = session.get(f"{hub.url}/api/models", params={"limit": 50, "full": True, "cardData": True}).json()
    for it in full:
        assert {"lastModified", "sha", "siblings", "author", "gated", "disabled"} <= set(it)
        assert "safetensors" not in it and "usedStorage" not in it
    assert any("cardData" in it for it in full)


def test_private_models_are_not_listed_nor_found(hub, api):
    hub.put({"id": "secret-org/hidden", "private": True, "tags": ["transformers"], "downloads": 5})
    assert "secret-org/hidden" not in {m.id for m in api.list_models()}
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("secret-org/hidden")


def test_tokens_see_private_models_and_anonymous_401():
    with HubReplay(synthetic_models(5, seed=4), tokens={"hf_good"}, anonymous_not_found_status=401) as hub:
        hub.put({"id": "secret-org/hidden", "private": True, "tags": []})
        anon, good = HfApi(endpoint=hub.url, token=False), HfApi(endpoint=hub.url, token="hf_good")
        bad = HfApi(endpoint=hub.url, token="hf_bad")
        assert "secret-org/hidden" in {m.id for m in good.list_models()}
        assert "secret-org/hidden" not in {m.id for m in bad.list_models()}
        assert good.model_info("secret-org/hidden").private is True
        with pytest.raises(RepositoryNotFoundError) as e:  # the real Hub: 401 when anonymous ...
            anon.model_info("secret-org/hidden")
        assert e.value.response.status_code == 401
        with pytest.raises(RepositoryNotFoundError) as e:  # ... 404 with a token that cannot see it
            bad.model_info("secret-org/hidden")
        assert e.value.response.status_code == 404


def test_list_filters_and_sorting():
    models = synthetic_models(400, seed=2)
    with HubReplay(models, page_size=25) as hub:
        api = HfApi(endpoint=hub.url, token=False)

        def ids(**kw):
            return [m.id for m in api.list_models(**kw)]

        timm = {m["id"] for m in models if m["author"] == "timm"}
        assert timm and set(ids(author="timm")) == timm

        with_timm = {m["id"] for m in models if "timm" in m["tags"] or m.get("library_name") == "timm"}
        assert set(ids(filter="timm")) == with_timm

        both = {m["id"] for m in models if "gguf" in m["tags"] and "conversational" in m["tags"]}
        assert both and set(ids(filter=["gguf", "conversational"])) == both  # filters AND together

        gen = {m["id"] for m in models if m.get("pipeline_tag") == "text-generation"}
        assert gen and set(ids(pipeline_tag="text-generation")) == gen

        llama = {m["id"] for m in models if "llama" in m["id"].lower()}
        assert llama and set(ids(search="LLaMA")) == llama  # case-insensitive substring of the id

        newest = list(api.list_models(sort="last_modified", expand=["lastModified"]))
        assert [m.id for m in newest] == _order(models, "lastModified")
        stamps = [m.last_modified for m in newest]
        assert stamps == sorted(stamps, reverse=True)

        mine = list(api.list_models(author="timm", sort="last_modified", expand=["lastModified", "author"]))
        assert {m.id for m in mine} == timm and all(m.author == "timm" for m in mine)
        assert [m.last_modified for m in mine] == sorted((m.last_modified for m in mine), reverse=True)

        assert ids(sort="downloads") == _order(models, "downloads")
        assert ids(sort="created_at") == _order(models, "createdAt")
        asc = get_session().get(f"{hub.url}/api/models", params={"sort": "downloads", "direction": 1, "limit": 1000})
        assert [m["id"] for m in asc.json()] == _order(models, "downloads", desc=False)

        three = ids(limit=3)
        assert hub.requests[-1][2]["limit"] == ["3"]  # limit sizes the page (and caps the total)
        assert three == ids()[:3]


def test_expand_with_carddata_is_refused(hub, api):
    with pytest.raises(ValueError):
        list(api.list_models(expand=["tags"], cardData=True))
    with pytest.raises(ValueError):
        list(api.list_models(expand=["tags"], full=True))
    session = get_session()
    for extra in ({"cardData": "true"}, {"full": "true"}, {"config": "true"}):
        r = session.get(f"{hub.url}/api/models", params={"expand": "tags", **extra})
        assert r.status_code == 400 and "error" in r.json()
    r = session.get(f"{hub.url}/api/models", params={"expand": "notAField"})
    assert r.status_code == 400
    with pytest.raises(BadRequestError):
        api.model_info(hub.ids()[0], expand=["notAField"])


def test_bad_input_answers_400_and_the_server_lives_on(hub, api):
    session = get_session()
    for params in ({"cursor": "!!!not base64"}, {"cursor": "eyJ4IjoxfQ"}, {"limit": "abc"}, {"limit": "0"},
                   {"sort": "bogus"}, {"direction": "sideways"}, {"sort": "downloads", "cursor": "eyJpIjoiYSJ9"}):
        r = session.get(f"{hub.url}/api/models", params=params)
        assert r.status_code == 400, params
        assert r.headers["content-type"].startswith("application/json") and "error" in r.json()
    r = session.get(f"{hub.url}/api/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
    assert session.post(f"{hub.url}/api/models", content=b"{}").status_code == 405
    assert len(list(api.list_models(limit=3))) == 3


def test_cursor_is_stable_when_a_model_changes_mid_pagination(hub, api, models):
    order = _order(models, "lastModified")
    it = iter(api.list_models(sort="last_modified", expand=["lastModified", "sha"]))
    first = [next(it) for _ in range(7)]
    assert [m.id for m in first] == order[:7]
    assert len(_list_requests(hub)) == 1  # page 2 not asked yet

    seen, later = order[2], order[20]  # one already listed, one on page 3: both jump to the front
    old_sha = hub.get(later)["sha"]
    hub.touch(seen)
    hub.touch(later)
    rest = list(it)

    ids = [m.id for m in first + rest]
    assert len(ids) == len(set(ids))  # nothing twice
    assert ids == [i for i in order if i != later]  # nothing skipped or shifted, but the one that moved
    fresh = [m for m in api.list_models(sort="last_modified", limit=2, expand=["lastModified", "sha"])]
    assert [m.id for m in fresh] == [later, seen]
    assert fresh[0].sha != old_sha and fresh[0].last_modified > fresh[1].last_modified > first[0].last_modified


def test_delete_and_put_between_pages(hub, api, models):
    order = [m["id"] for m in sorted(models, key=lambda m: m["_id"])]
    it = iter(api.list_models())
    first = [next(it).id for _ in range(7)]
    hub.delete(order[30])
    hub.put({"id": "new-user/brand-new", "tags": ["transformers"], "library_name": "transformers"})
    ids = first + [m.id for m in it]
    assert ids == [i for i in order if i != order[30]] + ["new-user/brand-new"]  # new _ids sort last


# ----------------------------------------------------------------------------------- model_info
def _handmade_record() -> dict:
    """A model_info body in the real shape (cf. a QA model with eval results in its card)."""
    model_index = [{"name": "acme/roberta-base-qa", "results": [{
        "task": {"type": "question-answering", "name": "Question Answering"},
        "dataset": {"name": "squad_v2", "type": "squad_v2", "config": "squad_v2", "split": "validation"},
        "metrics": [{"type": "exact_match", "value": 78.5, "name": "Exact Match", "verified": False},
                    {"type": "f1", "value": 81.9, "name": "F1", "verified": False}]}]}]
    return {
        "_id": "64f0c0ffee00000000000001", "id": "acme/roberta-base-qa", "private": False,
        "pipeline_tag": "question-answering", "library_name": "transformers",
        "tags": ["transformers", "pytorch", "safetensors", "roberta", "question-answering", "en",
                 "dataset:squad_v2", "base_model:FacebookAI/roberta-base",
                 "base_model:finetune:FacebookAI/roberta-base", "license:cc-by-4.0", "model-index",
                 "endpoints_compatible", "region:us"],
        "downloads": 1234, "likes": 5, "modelId": "acme/roberta-base-qa", "author": "acme",
        "sha": "0123456789abcdef0123456789abcdef01234567", "lastModified": "2024-09-24T15:48:47.000Z",
        "gated": "manual", "disabled": False, "mask_token": "<mask>", "model-index": model_index,
        "config": {"architectures": ["RobertaForQuestionAnswering"], "model_type": "roberta"},
        "cardData": {"language": "en", "license": "cc-by-4.0", "datasets": ["squad_v2"],
                     "model-index": model_index, "base_model": ["FacebookAI/roberta-base"]},
        "transformersInfo": {"auto_model": "AutoModelForQuestionAnswering", "pipeline_tag": "question-answering",
                             "processor": "AutoTokenizer"},
        "siblings": [{"rfilename": ".gitattributes"}, {"rfilename": "README.md"}, {"rfilename": "config.json"},
                     {"rfilename": "model.safetensors"}],
        "spaces": [], "createdAt": "2023-03-02T23:29:05.000Z",
        "safetensors": {"parameters": {"F32": 124056578, "I64": 514}, "total": 124057092},
        "usedStorage": 997_000_000,
    }


def test_model_info_full_record_and_expand(hub, api):
    rec = _handmade_record()
    hub.put(rec)
    m = api.model_info(rec["id"])
    assert m.id == rec["id"] and m.sha == rec["sha"] and m.author == "acme" and m.gated == "manual"
    assert [s.rfilename for s in m.siblings] == [s["rfilename"] for s in rec["siblings"]]
    assert m.safetensors.total == 124057092 and m.safetensors.parameters == {"F32": 124056578, "I64": 514}
    assert m.card_data.license == "cc-by-4.0" and m.card_data.eval_results[0].metric_value == 78.5
    assert m.model_index == rec["model-index"] and m.used_storage == rec["usedStorage"]
    assert m.transformers_info.auto_model == "AutoModelForQuestionAnswering"
    assert api.model_info(rec["id"], revision="main").sha == rec["sha"]
    assert api.model_info(rec["id"], revision=rec["sha"]).id == rec["id"]
    with pytest.raises(RevisionNotFoundError):
        api.model_info(rec["id"], revision="v9.9")
    hub.touch(rec["id"])  # a new commit: the old sha stays a valid revision
    assert api.model_info(rec["id"]).sha != rec["sha"]
    assert api.model_info(rec["id"], revision=rec["sha"]).id == rec["id"]

    e = api.model_info(rec["id"], expand=["downloads", "tags", "safetensors"])
    assert e.downloads == 1234 and e.tags == rec["tags"] and e.safetensors.total == 124057092
    assert e.sha is None and e.siblings is None and e.card_data is None
    raw = get_session().get(f"{hub.url}/api/models/{rec['id']}", params=[("expand", "downloads"), ("expand", "gguf")])
    assert raw.json() == {"_id": rec["_id"], "id": rec["id"], "downloads": 1234}  # a missing key is omitted

    synth = hub.get(hub.ids()[0])
    assert api.model_info(synth["id"]).sha == synth["sha"]


def test_model_info_missing_repo(hub, api):
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/nothing")
    r = get_session().get(f"{hub.url}/api/models/nobody/nothing")
    assert r.status_code == 404 and r.headers["x-error-code"] == "RepoNotFound"
    assert r.json() == {"error": "Repository not found"}


def test_renamed_repo_answers_307_and_the_client_follows_it(hub, api, models):
    old = models[3]["id"]
    hub.rename(old, "new-owner/renamed-model")
    hub.reset_log()

    m = api.model_info(old)
    # huggingface_hub 2.4.0's shared httpx2 client has follow_redirects=True: it follows the
    # relative Location and returns the model under its NEW id (same _id).
    assert m.id == "new-owner/renamed-model" and m.author == "new-owner"
    assert m._id == models[3]["_id"]
    assert [p for _, p, _ in hub.requests] == [f"/api/models/{old}", "/api/models/new-owner/renamed-model"]

    raw = get_session().get(f"{hub.url}/api/models/{old}/revision/main", params={"expand": "sha"},
                            follow_redirects=False)
    assert raw.status_code == 307
    assert raw.headers["location"] == "/api/models/new-owner/renamed-model/revision/main?expand=sha"
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == "Temporary Redirect. Redirecting to /api/models/new-owner/renamed-model/revision/main?expand=sha"

    listed = [x.id for x in api.list_models()]
    assert old not in listed and listed.count("new-owner/renamed-model") == 1
    assert hub.get(old)["id"] == "new-owner/renamed-model"

    hub.rename("new-owner/renamed-model", "third/name")  # chains collapse to the current id
    assert api.model_info(old).id == "third/name"


def test_legacy_single_name_ids(hub, api):
    hub.put({"id": "gpt2", "author": "openai-community", "pipeline_tag": "text-generation",
             "library_name": "transformers", "tags": ["transformers", "gpt2", "text-generation", "license:mit"],
             "safetensors": {"parameters": {"F32": 137022720}, "total": 137022720}})
    m = api.model_info("gpt2")
    assert m.id == "gpt2" and m.author == "openai-community" and m.safetensors.total == 137022720
    assert api.model_info("gpt2", revision="main").id == "gpt2"

    hub.put({"id": "bert-base-uncased", "tags": ["transformers", "bert", "fill-mask"]})
    hub.rename("bert-base-uncased", "google-bert/bert-base-uncased")
    assert api.model_info("bert-base-uncased").id == "google-bert/bert-base-uncased"
    assert "gpt2" in {x.id for x in api.list_models(search="gpt2")}


# -------------------------------------------------------------------------------------- faults
@pytest.fixture
def small():
    with HubReplay(synthetic_models(10, seed=3), page_size=4) as h:
        yield h


def test_429_on_the_first_list_request_is_retried(small):
    api = HfApi(endpoint=small.url, token=False)
    small.fail_next(1)  # 429 with Retry-After: 0 -> http_backoff sleeps 0 + 1 s
    assert len(list(api.list_models())) == 10
    assert small.count() == 1 + 3  # the failed first page, its retry, pages 2 and 3


def test_ratelimit_header_style_is_honoured(small):
    api = HfApi(endpoint=small.url, token=False)
    small.fail_next(1, 429, headers={"RateLimit": '"api";r=0;t=0',
                                     "RateLimit-Policy": '"fixed window";"api";q=500;w=300'})
    assert len(list(api.list_models(limit=4))) == 4
    assert small.count() == 2


def test_500_on_a_later_page_then_success(small):
    api = HfApi(endpoint=small.url, token=False)
    it = iter(api.list_models())
    first = [next(it).id for _ in range(4)]
    small.fail_next(1, 500)
    rest = [m.id for m in it]
    assert len(set(first + rest)) == 10
    assert small.count() == 1 + 2 + 1


def test_faults_on_model_info(small):
    api = HfApi(endpoint=small.url, token=False)
    rid = small.ids()[0]
    small.fail_next(1, 429, path_prefix="/api/models/")  # model_info itself does not retry
    with pytest.raises(HfHubHTTPError) as e:
        api.model_info(rid)
    assert e.value.response.status_code == 429
    assert api.model_info(rid).id == rid

    small.fail_next(1, 503, path_prefix=f"/api/models/{rid}")  # http_backoff does
    r = http_backoff("GET", f"{small.url}/api/models/{rid}", max_retries=2)
    assert r.status_code == 200 and r.json()["id"] == rid
    assert small.count(f"/api/models/{rid}") == 4


# --------------------------------------------------------------------------------------- synth
def test_synthetic_models_are_deterministic_unique_and_well_formed():
    a = synthetic_models(300, seed=5)
    assert a == synthetic_models(300, seed=5)
    assert a != synthetic_models(300, seed=6)

    ms = synthetic_models(2000, seed=0)
    assert len({m["id"] for m in ms}) == 2000 and len({m["_id"] for m in ms}) == 2000
    assert [m["_id"] for m in ms] == sorted(m["_id"] for m in ms)
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    for m in ms:
        assert isinstance(m["id"], str) and m["id"] == m["modelId"]
        assert re.fullmatch(r"[0-9a-f]{24}", m["_id"]) and re.fullmatch(r"[0-9a-f]{40}", m["sha"])
        assert iso.fullmatch(m["lastModified"]) and iso.fullmatch(m["createdAt"])
        assert "2023-01-01" <= m["createdAt"] <= m["lastModified"]
        assert isinstance(m["tags"], list) and all(isinstance(t, str) for t in m["tags"])
        assert m["private"] is False and m["gated"] in (False, "auto", "manual")
        assert isinstance(m["downloads"], int) and m["downloads"] >= 0 and isinstance(m["likes"], int)
        assert all(set(s) == {"rfilename"} for s in m["siblings"])
        st = m.get("safetensors")
        if st:
            assert st["total"] == sum(st["parameters"].values())
            nbytes = sum(n * {"F32": 4, "BF16": 2, "F16": 2, "I64": 8, "U8": 1}[d] for d, n in st["parameters"].items())
            assert m["usedStorage"] >= nbytes
    # timm: every 20th record, the real names first
    timm = [m for m in ms if "timm" in m["tags"]]
    assert len(timm) == 100
    assert [m["id"] for m in timm[:len(TIMM_NAMES)]] == [f"timm/{n}" for n in TIMM_NAMES]
    assert {"resnet18.a1_in1k", "vit_base_patch16_224.augreg2_in21k_ft_in1k", "convnext_tiny.fb_in22k_ft_in1k",
            "efficientnet_b0.ra_in1k", "resnet50.fb_ssl_yfcc100m_ft_in1k",
            "vit_small_patch14_dinov2.lvd142m"} <= set(TIMM_NAMES)
    r18 = next(m for m in ms if m["id"] == "timm/resnet18.a1_in1k")
    assert r18["safetensors"] == {"parameters": {"F32": 11689512}, "total": 11689512}
    assert "dataset:imagenet-1k" in r18["tags"] and "license:apache-2.0" in r18["tags"]
    ssl = next(m for m in ms if m["id"] == "timm/resnet50.fb_ssl_yfcc100m_ft_in1k")
    assert ssl["cardData"]["license"] == "cc-by-nc-4.0"
    assert any(m["id"].startswith("timm/") is False and m.get("library_name") == "timm" for m in ms)  # mirrors


def test_synthetic_models_cover_the_hub_and_its_odd_cases():
    ms = synthetic_models(2000, seed=0)
    card = [m["cardData"] for m in ms if isinstance(m.get("cardData"), dict)]
    tags = [t for m in ms for t in m["tags"]]
    libs = {m.get("library_name") for m in ms}
    assert {"timm", "transformers", "sentence-transformers", "diffusers", "peft", "gguf"} <= libs
    assert {"image-classification", "text-classification", "fill-mask", "token-classification",
            "question-answering", "text-generation", "feature-extraction", "sentence-similarity",
            "text-to-image", "automatic-speech-recognition"} <= {m.get("pipeline_tag") for m in ms}
    for kind in ("finetune", "quantized", "adapter"):
        assert any(t.startswith(f"base_model:{kind}:") for t in tags)
    assert "base_model:finetune:meta-llama/Llama-3.1-8B" in tags
    assert {"manual", "auto"} <= {m["gated"] for m in ms}
    assert all("safetensors" not in m for m in ms if m.get("library_name") in ("diffusers", "gguf", "peft"))
    assert any("gguf" in m["tags"] and m.get("library_name") != "gguf" for m in ms)  # tag only
    assert any(t.startswith("dataset:librispeech") or t == "dataset:openslr/librispeech_asr" for t in tags)
    assert any("common_voice" in t for t in tags if t.startswith("dataset:"))
    assert any(isinstance(m["safetensors"]["parameters"].get("BF16"), int) and m["safetensors"]["total"] > 10**9
               for m in ms if m.get("safetensors"))
    mi = next(c["model-index"] for c in card if "model-index" in c)
    res = mi[0]["results"][0]
    assert {"task", "dataset", "metrics"} <= set(res) and {"type", "value"} <= set(res["metrics"][0])

    # odd but real, a few % in all
    assert any("cardData" not in m for m in ms)
    assert any(isinstance(c.get("license"), list) for c in card)
    assert any(c.get("license") == "other" and c.get("license_name") == "llama3" for c in card)
    assert any(c.get("license") == "other" and c.get("license_name") == "my-custom-license" for c in card)
    assert any(m.get("pipeline_tag") == "quantum-teleportation" for m in ms)
    tasks = {"image-classification", "image-feature-extraction", "text-classification", "fill-mask",
             "token-classification", "question-answering", "text-generation", "feature-extraction",
             "sentence-similarity", "text-to-image", "automatic-speech-recognition", "summarization",
             "translation", "text2text-generation", "object-detection", "image-segmentation"}
    assert any("pipeline_tag" not in m and m.get("library_name") != "peft" and tasks & set(m["tags"]) for m in ms)
    assert any(isinstance(m.get("cardData"), str) for m in ms)
    assert any(m["disabled"] is True for m in ms)
    assert any("library_name" not in m for m in ms)
    assert any(t.startswith("arxiv:") for t in tags)
    assert any("someorg/private-set" in (c.get("datasets") or []) or "my-company/internal-data-v2" in
               (c.get("datasets") or []) or "local_csv" in (c.get("datasets") or []) for c in card)
    assert any("/" not in m["id"] for m in ms)  # legacy ids
    odd = sum(1 for m in ms if "cardData" not in m or isinstance(m.get("cardData"), str) or m["disabled"]
              or "library_name" not in m or m.get("pipeline_tag") == "quantum-teleportation")
    assert 0.005 * len(ms) < odd < 0.08 * len(ms)
    assert len(ODD_CASES) >= 10


@pytest.fixture(scope="module")
def hundred_k():
    t = time.perf_counter()
    ms = synthetic_models(100_000, seed=7)
    return ms, time.perf_counter() - t


def test_synthetic_models_are_fast(hundred_k):
    ms, elapsed = hundred_k
    assert len(ms) == 100_000 and len({m["id"] for m in ms}) == 100_000
    assert elapsed < 10, elapsed  # ~2 s here


# ---------------------------------------------------------------------------------------- bulk
def test_put_many_200k_and_page_fast(hundred_k):
    base, _ = hundred_k
    # 200k: the 100k synthetic models plus a mirror of each (new id, later _id; nested data shared)
    many = base + [dict(m, id=f"{m['id']}-mirror", modelId=f"{m['id']}-mirror", _id="f" + m["_id"][1:])
                   for m in base]
    session = get_session()  # the client's own start-up (SSL context etc.) is not the replay's cost
    hub = HubReplay(page_size=1000)
    gc.disable()  # nor is a full GC pass over 200k records (~1 s), whenever Python decides to run it
    try:
        _put_many_200k_and_page(hub, session, many)
    finally:
        gc.enable()


def _put_many_200k_and_page(hub, session, many):
    t = time.perf_counter()
    hub.put_many(many)
    assert len(hub.ids()) == 200_000
    with hub:
        params = [("expand", f) for f in ("sha", "lastModified", "tags", "safetensors", "cardData")]
        first = session.get(f"{hub.url}/api/models", params=params)
        assert first.status_code == 200 and len(first.json()) == 1000 and "next" in first.links

        by_id = sorted(many, key=lambda m: m["_id"])
        cursor = hub.cursor_for(by_id[99_999]["id"])
        middle = session.get(f"{hub.url}/api/models", params=params + [("cursor", cursor)])
        assert [m["id"] for m in middle.json()] == [m["id"] for m in by_id[100_000:101_000]]

        newest = session.get(f"{hub.url}/api/models", params=params + [("sort", "lastModified")]).json()
        assert [m["lastModified"] for m in newest] == sorted((m["lastModified"] for m in newest), reverse=True)
        lm_cursor = hub.cursor_for(newest[-1]["id"], sort="lastModified")
        page2 = session.get(f"{hub.url}/api/models", params=params + [("sort", "lastModified"), ("cursor", lm_cursor)])
        assert page2.json()[0]["lastModified"] <= newest[-1]["lastModified"]
        assert not {m["id"] for m in page2.json()} & {m["id"] for m in newest}

        hub.touch(by_id[150_000]["id"])  # an index update, not a rebuild
        top = session.get(f"{hub.url}/api/models", params=[("sort", "lastModified"), ("limit", 1)]).json()
        assert top[0]["id"] == by_id[150_000]["id"]

        api = HfApi(endpoint=hub.url, token=False)
        assert len(list(api.list_models(limit=1000, expand=["sha"]))) == 1000
        elapsed = time.perf_counter() - t
    print(f"put_many 200k + pages: {elapsed:.2f} s")
    assert elapsed < 5, elapsed  # generous: ~1 s here
