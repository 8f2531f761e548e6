"""The real downloaders against tests/replay/hubfiles.py: an in-memory Hub file server on 127.0.0.1.

huggingface_hub 2.4.0 (hf_hub_download, HfApi), timm (`create_model(..., pretrained=True)` by
pretrained tag and by `hf-hub:`) and transformers 5 (`Auto*.from_pretrained`) download from it
into a per-test cache; offline mode then asks it nothing.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session

from replay.hubfiles import HubFiles, point_clients_at


@pytest.fixture
def hub_files(monkeypatch, tmp_path):
    """A running HubFiles that huggingface_hub, timm and transformers download from, into
    tmp_path/hf (see point_clients_at for what is patched and why); `.cache` is the hub cache."""
    with HubFiles() as hub:
        hub.cache = point_clients_at(monkeypatch, hub.url, tmp_path / "hf")
        yield hub


# ---------------------------------------------------------------------- huggingface_hub
def test_download_with_endpoint_argument_needs_no_patching(tmp_path, monkeypatch):
    # telemetry off only so that the user-agent's agent detection never asks huggingface.co
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    with HubFiles() as hub:
        sha = hub.put_repo("acme/tiny", {"config.json": b'{"a": 1}', "weights/model.safetensors": b"\x00" * 300})
        path = hf_hub_download("acme/tiny", "weights/model.safetensors", endpoint=hub.url, cache_dir=tmp_path)
        assert open(path, "rb").read() == b"\x00" * 300
        assert f"/snapshots/{sha}/weights/model.safetensors" in path
        assert hub.requests == [("HEAD", "/acme/tiny/resolve/main/weights/model.safetensors"),
                                ("GET", "/acme/tiny/resolve/main/weights/model.safetensors")]


def test_download_cache_offline_and_revisions(hub_files, monkeypatch):
    hub = hub_files
    sha1 = hub.put_repo("acme/tiny", {"config.json": b'{"v": 1}', "model.safetensors": b"one"})
    path = hf_hub_download("acme/tiny", "config.json")
    assert open(path, "rb").read() == b'{"v": 1}'
    assert path.startswith(str(hub.cache))
    blobs = hub.cache / "models--acme--tiny" / "blobs"
    assert (hub.cache / "models--acme--tiny" / "refs" / "main").read_text() == sha1
    git_oid = HfApi().model_info("acme/tiny", files_metadata=True).siblings[0].blob_id
    assert (blobs / git_oid).is_file()  # a git file's ETag is its blob sha1, an LFS file's its sha256
    lfs_path = hf_hub_download("acme/tiny", "model.safetensors")
    assert (blobs / hashlib.sha256(b"one").hexdigest()).is_file()

    # a second download asks only HEAD (the ETag matches the cached blob)
    hub.reset_log()
    assert hf_hub_download("acme/tiny", "config.json") == path
    assert hub.requests == [("HEAD", "/acme/tiny/resolve/main/config.json")]

    # offline: the cache answers, the server hears nothing
    hub.reset_log()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hf_hub_download("acme/tiny", "config.json") == path
    assert hf_hub_download("acme/tiny", "model.safetensors") == lfs_path
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download("acme/tiny", "missing.json")
    assert hub.requests == []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    # a new commit: main moves, the old sha still serves the old bytes
    sha2 = hub.put_repo("acme/tiny", {"config.json": b'{"v": 2}'})
    assert sha2 != sha1 and len(sha2) == 40
    assert open(hf_hub_download("acme/tiny", "config.json"), "rb").read() == b'{"v": 2}'
    assert open(hf_hub_download("acme/tiny", "config.json", revision=sha1), "rb").read() == b'{"v": 1}'
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/tiny", "model.safetensors")  # gone from main
    sha3 = hub.remove_file("acme/tiny", "config.json")
    assert hub.sha("acme/tiny") == sha3
    assert HfApi().list_repo_files("acme/tiny") == []
    assert HfApi().list_repo_files("acme/tiny", revision=sha1) == ["config.json", "model.safetensors"]


def test_errors_raise_the_clients_exceptions(hub_files):
    hub = hub_files
    hub.put_repo("acme/open", {"config.json": b"{}"})
    hub.put_repo("acme/gated", {"config.json": b"{}"}, gated=True)
    with pytest.raises(RepositoryNotFoundError) as e:
        hf_hub_download("acme/nope", "config.json")
    assert not isinstance(e.value, GatedRepoError)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/open", "nope.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("acme/open", "config.json", revision="dev")
    with pytest.raises(GatedRepoError) as e:
        hf_hub_download("acme/gated", "config.json")
    assert e.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as e:
        hf_hub_download("acme/gated", "config.json", token="hf_wrong")
    assert e.value.response.status_code == 403
    hub.tokens = {"hf_good"}
    assert open(hf_hub_download("acme/gated", "config.json", token="hf_good"), "rb").read() == b"{}"
    # the info of a gated repo is public, as on the Hub
    assert HfApi().model_info("acme/gated").gated == "auto"
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("acme/nope")
    with pytest.raises(RevisionNotFoundError):
        HfApi().model_info("acme/open", revision="dev")
    r = get_session().get(f"{hub.url}/api/agent-harnesses")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


def test_model_info_tree_and_ranges(hub_files):
    hub = hub_files
    data = bytes(range(256)) * 4
    sha = hub.put_repo("solo", {"a/b/c.bin": data, "README.md": b"# hi", "config.json": b'{"model_type": "vit"}'},
                       info={"pipeline_tag": "image-classification"})
    api = HfApi()
    info = api.model_info("solo")
    assert (info.id, info.sha, info.library_name, info.pipeline_tag) == ("solo", sha, "transformers",
                                                                         "image-classification")
    assert [s.rfilename for s in info.siblings] == ["README.md", "a/b/c.bin", "config.json"]
    assert api.model_info("solo", expand=["sha"]).sha == sha
    tree = {e.path: e for e in api.list_repo_tree("solo", recursive=True)}
    assert sorted(tree) == ["README.md", "a", "a/b", "a/b/c.bin", "config.json"]
    assert tree["a/b/c.bin"].lfs.sha256 == hashlib.sha256(data).hexdigest()
    assert [e.path for e in api.list_repo_tree("solo", path_in_repo="a/b")] == ["a/b/c.bin"]
    assert [e.path for e in api.get_paths_info("solo", ["a", "config.json", "zzz"])] == ["a", "config.json"]
    url = f"{hub.url}/solo/resolve/{sha}/a/b/c.bin"
    r = get_session().get(url, headers={"Range": "bytes=1000-"})
    assert r.status_code == 206 and r.content == data[1000:]
    assert r.headers["Content-Range"] == f"bytes 1000-1023/{len(data)}"
    assert get_session().get(url, headers={"Range": "bytes=5000-"}).status_code == 416
    r = get_session().head(url)
    assert r.headers["X-Repo-Commit"] == sha and int(r.headers["Content-Length"]) == len(data)
    assert "X-Xet-Hash" not in r.headers
    with pytest.raises(HfHubHTTPError):
        api.model_info("solo", expand=["nonsense"])


# ---------------------------------------------------------------------- timm
@pytest.fixture(scope="module")
def timm_mod():
    from indexer.torchcompat import ensure_torchvision_importable
    ensure_torchvision_importable()
    import timm
    return timm


def test_timm_pretrained_by_tag_and_hf_hub(hub_files, timm_mod, tmp_path):
    import safetensors.torch
    import torch
    from timm.models._hub import save_for_hf

    timm = timm_mod
    torch.manual_seed(0)
    src = timm.create_model("test_vit.r160_in1k")
    with torch.no_grad():  # values no fresh init can have: equal weights mean downloaded weights
        for p in src.parameters():
            p.add_(0.5)
    save_for_hf(src, tmp_path / "save", safe_serialization=True)
    assert (tmp_path / "save" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "save" / "config.json").read_text())["architecture"] == "test_vit"
    hub_files.put_dir("timm/test_vit.r160_in1k", tmp_path / "save")
    served = safetensors.torch.load_file(tmp_path / "save" / "model.safetensors")

    def same_backbone(model):
        sd = model.state_dict()
        backbone = [k for k in served if not k.startswith("head.")]
        assert backbone and all(torch.equal(sd[k], served[k]) for k in backbone)
        assert model.get_classifier().out_features == 3

    same_backbone(timm.create_model("test_vit.r160_in1k", pretrained=True, num_classes=3))
    same_backbone(timm.create_model("hf-hub:timm/test_vit.r160_in1k", pretrained=True, num_classes=3))
    assert ("GET", "/timm/test_vit.r160_in1k/resolve/main/model.safetensors") in hub_files.requests
    assert ("GET", "/timm/test_vit.r160_in1k/resolve/main/config.json") in hub_files.requests


# ---------------------------------------------------------------------- transformers
def test_transformers_auto_classes(hub_files, timm_mod, tmp_path, monkeypatch):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        AutoImageProcessor,
        AutoModelForImageClassification,
        AutoTokenizer,
        PreTrainedTokenizerFast,
        ViTConfig,
        ViTForImageClassification,
        ViTImageProcessor,
    )

    torch.manual_seed(0)
    cfg = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                    image_size=32, patch_size=8, num_labels=5)
    src = ViTForImageClassification(cfg)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(0.5)
    src.save_pretrained(tmp_path / "save")
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path / "save")
    vocab = {"[UNK]": 0, "[PAD]": 1, "hello": 2, "world": 3}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    fast.save_pretrained(tmp_path / "save")
    assert (tmp_path / "save" / "model.safetensors").is_file()
    sha = hub_files.put_dir("acme/tiny-vit", tmp_path / "save")

    model = AutoModelForImageClassification.from_pretrained("acme/tiny-vit", num_labels=3,
                                                            ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 3
    want = src.state_dict()
    got = model.state_dict()
    backbone = [k for k in want if not k.startswith("classifier.")]
    assert backbone and all(torch.equal(got[k], want[k]) for k in backbone)
    processor = AutoImageProcessor.from_pretrained("acme/tiny-vit")
    assert processor.size == {"height": 32, "width": 32}
    assert AutoTokenizer.from_pretrained("acme/tiny-vit")("hello world")["input_ids"] == [2, 3]
    assert (hub_files.cache / "models--acme--tiny-vit" / "snapshots" / sha / "model.safetensors").exists()
    # transformers 5 pins the revision first (model info), then asks for files at that sha
    assert hub_files.requests[0] == ("GET", "/api/models/acme/tiny-vit")
    assert ("GET", f"/acme/tiny-vit/resolve/{sha}/model.safetensors") in hub_files.requests
    assert ("GET", "/api/models/acme/tiny-vit/tree/main?recursive=true&expand=false") in hub_files.requests

    # offline from the cache: nothing asked
    hub_files.reset_log()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    AutoImageProcessor.from_pretrained("acme/tiny-vit")
    AutoModelForImageClassification.from_pretrained("acme/tiny-vit")
    AutoTokenizer.from_pretrained("acme/tiny-vit")
    assert hub_files.requests == []
