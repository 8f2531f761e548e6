"""PyTorch Hub page and hubconf.py parsers, and GitHub link extraction, on hand-written and hostile input.

(The 52 real pages and pytorch/vision's real hubconf are in the conformance tier.)
"""

import os

import pytest

from indexer.normalize.links import github_repo_ids
from indexer.parse.hubconf import HubconfError, parse_hubconf
from indexer.parse.hubpage import PageError, parse_page

PAGE = """---
layout: hub_detail
title: ResNet
summary: Deep residual networks pre-trained on ImageNet
category: researchers
author: Pytorch Team
tags: [vision, scriptable]
github-link: https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py
github-id: pytorch/vision
accelerator: cuda-optional
order: 10
demo-model-link: https://huggingface.co/spaces/pytorch/ResNet
---

```python
import torch
model = torch.hub.load('pytorch/vision:v0.10.0', 'resnet18', pretrained=True)
# model = torch.hub.load('pytorch/vision:v0.10.0', 'resnet34', pretrained=True)
```

<!-- a comment that names torch.hub.load('x/y', 'hidden') is still code people copy -->
Read [Deep Residual Learning](https://arxiv.org/abs/1512.03385) for details.
"""


def test_page_front_matter_loads_and_papers():
    p = parse_page(PAGE, "pytorch_vision_resnet.md")
    m = p["meta"]
    assert m["title"] == "ResNet" and m["github-id"] == "pytorch/vision"
    assert m["tags"] == ["vision", "scriptable"] and m["order"] == 10
    assert m["demo-model-link"] == "https://huggingface.co/spaces/pytorch/ResNet"
    assert [(x["repo"], x["ref"], x["name"]) for x in p["loads"]] == [
        ("pytorch/vision", "v0.10.0", "resnet18"), ("pytorch/vision", "v0.10.0", "resnet34"), ("x/y", None, "hidden")]
    assert p["arxiv"] == ["1512.03385"]
    assert "Deep Residual Learning" in p["text"] and "import torch" not in p["text"]


@pytest.mark.parametrize("front, key, expected", [
    # curly quotes and a colon inside a value: YAML fails, the cleaned retry succeeds
    ("title: \u201cMiDaS\u201d\nsummary: depth: from one image\ngithub-id: intel-isl/MiDaS", "title", "MiDaS"),
    # HTML comment inside the front matter
    ("title: X\n<!-- github-id: wrong/repo -->\ngithub-id: a/b", "github-id", "a/b"),
    # tabs (YAML forbids them for indentation)
    ("title:\tTabbed\ngithub-id:\ta/b", "title", "Tabbed"),
    # tags as a comma string, upper case
    ("title: X\ntags: Vision, NLP\ngithub-id: a/b", "tags", ["vision", "nlp"]),
    # github-id is not owner/name: taken from github-link
    ("title: X\ngithub-id: TBD\ngithub-link: https://github.com/NVIDIA/DeepLearningExamples.git", "github-id",
     "NVIDIA/DeepLearningExamples"),
    # a value that YAML reads as a number or a date stays text
    ("title: 2020-01-01\ngithub-id: a/b", "title", "2020-01-01"),
    # broken flow list: the line reader still gets the rest
    ("title: Broken\ntags: [vision,\ngithub-id: a/b", "github-id", "a/b"),
])
def test_page_odd_yaml_is_read(front, key, expected):
    p = parse_page(f"---\n{front}\n---\nbody\n")
    assert p["meta"][key] == expected


def test_page_bom_crlf_and_leading_comment():
    text = "\ufeff<!-- generated -->\r\n---\r\ntitle: X\r\ngithub-id: a/b\r\n---\r\nbody"
    assert parse_page(text)["meta"]["github-id"] == "a/b"
    assert parse_page(text.encode("utf-8"))["meta"]["title"] == "X"


@pytest.mark.parametrize("text, message", [
    ("# README\nno front matter", "no front matter"),
    ("---\nlayout: hub_detail\nimage: x.png\n---\n", "neither a title nor a repository"),
    ("---\n- a list\n- not a mapping\n---\n", "neither a title nor a repository"),
    ("", "no front matter"),
    ("---\ntitle: never closed\n", "no front matter"),
])
def test_page_without_usable_front_matter_raises_page_error(text, message):
    with pytest.raises(PageError, match=message):
        parse_page(text, "bad.md")


def test_page_hostile_sizes_and_values():
    with pytest.raises(PageError, match="more than a page"):
        parse_page("---\ntitle: x\n---\n" + "a" * 1_100_000)
    # a YAML bomb: aliases expanding exponentially must not hang (safe_load limits it or it is small)
    bomb = "---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" \
           "title: Bomb\ngithub-id: a/b\n---\n"
    assert parse_page(bomb)["meta"]["title"] == "Bomb"
    # python-specific YAML tags are not constructed (safe_load)
    p = parse_page("---\ntitle: !!python/object/apply:os.system ['echo pwned']\ngithub-id: a/b\n---\n")
    assert "title" not in p["meta"] or "pwned" not in str(p["meta"]) or p["meta"]["title"] != 0
    # mappings and lists where strings belong are dropped, not crashed on
    p = parse_page("---\ntitle: {a: 1}\nsummary: [1, 2]\ngithub-id: a/b\n---\n")
    assert "title" not in p["meta"] and "summary" not in p["meta"] and p["meta"]["github-id"] == "a/b"


# ---------------------------------------------------------------------- hubconf.py
HUBCONF = '''
"""Module docstring."""
dependencies = ["torch", "torchvision"]
import os
from torchvision.models.resnet import resnet18, resnet50 as r50
from .models import MODEL_CONSTANT, builder  # an ALL_CAPS name with an underscore: a constant
from torch.hub import load_state_dict_from_url as _load


def tiny(pretrained=False, *, num_classes=10, **kwargs):
    """A tiny classifier.

    More text."""
    return None


class Wrapper:
    """A class entrypoint."""


def _private():
    pass


alias = tiny
partial_one = functools.partial(tiny, num_classes=5)
not_callable = 3
if True:
    def inside_if():
        pass
try:
    from fancy import extra_model
except ImportError:
    pass
removed = tiny
del removed
'''


def test_hubconf_entrypoints_kinds_docstrings_dependencies():
    h = parse_hubconf(HUBCONF)
    assert h["dependencies"] == ["torch", "torchvision"]
    by = {e["name"]: e for e in h["entrypoints"]}
    assert set(by) == {"resnet18", "r50", "builder", "tiny", "Wrapper", "alias", "partial_one", "inside_if",
                       "extra_model"}
    assert by["resnet18"]["kind"] == "import" and by["resnet18"]["module"] == "torchvision.models.resnet"
    assert by["r50"]["imported"] == "resnet50"
    assert by["builder"]["module"] == ".models"
    assert by["tiny"]["kind"] == "function" and by["tiny"]["docstring"].startswith("A tiny classifier.")
    assert by["tiny"]["params"] == ["pretrained", "num_classes", "**kwargs"]
    assert by["Wrapper"]["kind"] == "class" and by["Wrapper"]["docstring"] == "A class entrypoint."
    assert by["alias"]["kind"] == "alias" and by["alias"]["module"] == "tiny"
    assert h["warnings"] == []


def test_hubconf_star_import_and_bad_dependencies_are_warnings():
    h = parse_hubconf("from models import *\ndependencies = get_deps()\ndef m(): pass\n")
    assert [e["name"] for e in h["entrypoints"]] == ["m"] and h["dependencies"] == []
    assert any("import *" in w for w in h["warnings"]) and any("dependencies" in w for w in h["warnings"])


def test_hubconf_is_never_executed(tmp_path):
    """A hubconf that runs commands at import: parsing it runs nothing."""
    marker = tmp_path / "pwned"
    source = (f"import os\nos.system('touch {marker}')\nopen({str(marker)!r}, 'w').write('x')\n"
              f"__import__('os').system('touch {marker}')\n"
              "def model(pretrained=False):\n    '''Looks innocent.'''\n    return None\n"
              f"exec(\"open({str(marker)!r}, 'w')\")\n")
    h = parse_hubconf(source)
    assert [e["name"] for e in h["entrypoints"]] == ["model"]
    assert not marker.exists() and not os.path.exists(marker)


@pytest.mark.parametrize("source, message", [
    ("def broken(:\n    pass\n", "syntax error at line 1"),
    ("x = (\n", "syntax error"),
    ("\x00\x00 binary", "cannot be parsed|syntax error"),
    ("(" * 1000 + ")" * 1000, "cannot be parsed|syntax error"),
])
def test_hubconf_that_is_not_python_is_reported(source, message):
    with pytest.raises(HubconfError, match=message):
        parse_hubconf(source, "owner/repo/hubconf.py")


def test_hubconf_size_limit_and_bytes():
    with pytest.raises(HubconfError, match="too large"):
        parse_hubconf(b"#" * 2_000_001)
    assert [e["name"] for e in parse_hubconf("def caf\u00e9(): pass\n".encode())["entrypoints"]] == ["caf\u00e9"]


# ---------------------------------------------------------------------- GitHub links
@pytest.mark.parametrize("text, expected", [
    ("https://github.com/facebookresearch/deit", [("github:facebookresearch/deit", "facebookresearch/deit")]),
    ("Code: https://github.com/google-research/vision_transformer.", [
        ("github:google-research/vision_transformer", "google-research/vision_transformer")]),
    ("git@github.com:NVIDIA/DeepLearningExamples.git", [
        ("github:nvidia/deeplearningexamples", "NVIDIA/DeepLearningExamples")]),
    ("https://github.com/pytorch/vision/tree/main/references/classification#resnet", [
        ("github:pytorch/vision", "pytorch/vision")]),
    ("https://raw.githubusercontent.com/owner/repo/main/img.png", [("github:owner/repo", "owner/repo")]),
    ("see github.com/a-b/c.d and https://www.github.com/A-B/C.D twice", [("github:a-b/c.d", "a-b/c.d")]),
    ("https://github.com/topics/pytorch https://github.com/orgs/x https://github.com/sponsors/y", []),
    ("https://gitlab.com/a/b https://notgithub.com/a/b", []),
    (None, []),
    (["https://github.com/a/b", "https://github.com/c/d", "https://github.com/a/b"],
     [("github:a/b", "a/b"), ("github:c/d", "c/d")]),
    (("no link here", None, "https://github.com/C/D", "and github.com/c/d again", 42), [("github:c/d", "C/D")]),
    ("GITHUB.COM/a/b", []),  # the pattern is lower case, as GitHub's URLs are written
])
def test_github_repo_ids(text, expected):
    assert github_repo_ids(text) == expected


DECIDABLE_HUBCONF = '''"""Every kind of entrypoint a reader of the text can know."""
dependencies = ["torch"]
import functools
import math as m
import os
from collections import OrderedDict
from functools import partial
from math import floor as round_down, sqrt
from os.path import join as _join


def tiny(pretrained=False, **kwargs):
    """Tiny."""
    return None


@functools.lru_cache(maxsize=None)
def cached():
    return None


async def coro():
    return None


class Wrapper:
    pass


class _Hidden:
    pass


alias = tiny
partial_one = partial(tiny, num_classes=5)
lam = lambda: None  # noqa: E731
attr = os.path.basename
not_callable = 3
rebound = tiny
rebound = "no longer callable"
deleted = tiny
del deleted
if True:
    def inside_if():
        return None
try:
    def inside_try():
        return None
except Exception:
    pass
'''


def test_hubconf_entrypoints_are_what_torch_hub_list_shows(tmp_path):
    """The same names torch.hub.list gives (it imports and runs the file; this one is ours),
    for every construct the text decides."""
    import torch.hub

    repo = tmp_path / "hub" / "acme_tinynets_main"
    repo.mkdir(parents=True)
    (repo / "hubconf.py").write_text(DECIDABLE_HUBCONF)
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:  # an explicit ref and a cached copy: no network
        listed = torch.hub.list("acme/tinynets:main", trust_repo=True, verbose=False)
    finally:
        torch.hub.set_dir(before)
    parsed = [e["name"] for e in parse_hubconf(DECIDABLE_HUBCONF)["entrypoints"]]
    assert sorted(parsed) == sorted(listed)
    assert {"tiny", "cached", "coro", "Wrapper", "alias", "partial_one", "lam", "attr", "OrderedDict",
            "partial", "round_down", "sqrt", "inside_if", "inside_try"} == set(parsed)


# the shape of a widely used detection repository's hubconf.py (issue #21 part 2): its test script
# under `if __name__ == "__main__":` is not run by torch.hub, which imports the file as a module
MAIN_GUARDED = '''
"""PyTorch Hub models"""
import torch


def _create(name, pretrained=True, channels=3, classes=80):
    """Creates a model"""
    from pathlib import Path
    return name


def custom(path="path/to/model.pt", autoshape=True):
    """custom trained model"""
    return _create(path, autoshape)


def yolov5n(pretrained=True, channels=3, classes=80):
    """nano model"""
    return _create("yolov5n", pretrained, channels, classes)


if __name__ == "__main__":
    import argparse
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from utils.general import cv2, print_args

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=str, default="yolov5s", help="model name")
    opt = parser.parse_args()
    print_args(vars(opt))
    model = _create(name=opt.model, pretrained=True, channels=3, classes=80)
    imgs = ["data/images/zidane.jpg", Image.open("data/images/bus.jpg")]
    results = model(imgs, size=320)
'''


def test_hubconf_skips_what_runs_only_as_a_script():
    h = parse_hubconf(MAIN_GUARDED)
    assert [e["name"] for e in h["entrypoints"]] == ["custom", "yolov5n"]
    assert h["warnings"] == []
    # the other way round: `!=` runs on import, its else does not
    h = parse_hubconf('if "__main__" != __name__:\n    def a(): pass\nelse:\n    def b(): pass\n')
    assert [e["name"] for e in h["entrypoints"]] == ["a"]
    h = parse_hubconf('if __name__ == "__main__":\n    def a(): pass\nelse:\n    def b(): pass\n')
    assert [e["name"] for e in h["entrypoints"]] == ["b"]


def test_hubconf_lists_imported_classes_and_drops_constants():
    h = parse_hubconf("from models import VGG, DETR, ResNet, MODEL_URLS, DEFAULT_CFG\n")
    assert [e["name"] for e in h["entrypoints"]] == ["VGG", "DETR", "ResNet"]


@pytest.mark.parametrize("source,what", [
    ("def m(): pass\nfor n in ['a', 'b']:\n    globals()[n] = m\n", "globals()[...] = ..."),
    ("def m(): pass\nglobals().update({'a': m})\n", "globals().update(...)"),
    ("def m(): pass\nvars().update(a=m)\n", "vars().update(...)"),
    ("exec('def a(): pass')\n", "exec()"),
    # lukemelas/EfficientNet-PyTorch: at module level, locals() is the module's namespace
    ("def m(): pass\nfor n in ['a', 'b']:\n    locals()[n] = m\n", "locals()[...] = ..."),
])
def test_hubconf_warns_of_names_it_cannot_see(source, what):
    h = parse_hubconf(source)
    assert any(what in w and "cannot be listed" in w for w in h["warnings"]), h["warnings"]
    # the same inside a function runs only when called: no warning
    inside = "def f():\n" + "".join("    " + line + "\n" for line in source.splitlines())
    assert parse_hubconf(inside)["warnings"] == []


def test_hubconf_data_made_by_a_builtin_call_is_not_an_entrypoint():
    h = parse_hubconf("from functools import partial\ndef f(): pass\nCONFIGS = dict(a=1)\ntiny = partial(f)\n")
    assert [e["name"] for e in h["entrypoints"]] == ["partial", "f", "tiny"]


# A repository's files, as read(path) gives them (GitHub at the hubconf's ref, or a checkout).
REPO = {
    "lib/__init__.py": "",
    "lib/config/__init__.py": "from .default import _C as cfg\nfrom .default import update_config\n",
    "lib/config/default.py": "from yacs.config import CfgNode as CN\n_C = CN()\ndef update_config(c): pass\n",
    "lib/models/__init__.py": "from .net import get_net\nfrom . import heads\nURLS = {}\nsizes = [1, 2]\n",
    "lib/models/net.py": "def get_net(cfg): pass\n",
    "lib/models/heads.py": "class Head: pass\n",
    "geff/__init__.py": "from .gen import *\nfrom .mob import *\n",
    "geff/gen.py": "def effnet_b0(): pass\n",
    "geff/mob.py": "from functools import partial\ndef _m(): pass\nmob_100 = partial(_m)\nKIND = Mob()\n",
    "plain/yolo.py": "class Model: pass\n",  # a namespace package (no __init__.py)
}


def repo_reader(files=REPO, reads=None):
    def read(path):
        if reads is not None:
            reads.append(path)
        return files.get(path)
    return read


def test_hubconf_follows_imports_into_the_repository():
    source = ("from lib.config import cfg, update_config\nfrom lib.models import get_net, heads, URLS, sizes\n"
              "from geff import effnet_b0, mob_100, KIND\nfrom plain import yolo\nfrom elsewhere import thing\n"
              "def yolop(): pass\n")
    h = parse_hubconf(source, read=repo_reader())
    # cfg: a CfgNode instance (warned); heads, yolo: modules; URLS, sizes: data; KIND: an instance;
    # thing: not in the repository nor installed, so taken as callable, as before
    assert [e["name"] for e in h["entrypoints"]] == ["update_config", "get_net", "effnet_b0", "mob_100", "thing",
                                                     "yolop"]
    instances = [w for w in h["warnings"] if "instance of" in w]
    assert len(instances) == 2 and "'cfg' is an instance of CN (made in lib/config/default.py)" in instances[0]
    assert "'KIND' is an instance of Mob" in instances[1]
    # without the repository's files every name is taken as callable (ALL_CAPS without "_" can be a class)
    plain = parse_hubconf(source)
    assert [e["name"] for e in plain["entrypoints"]] == ["cfg", "update_config", "get_net", "heads", "URLS", "sizes",
                                                         "effnet_b0", "mob_100", "KIND", "yolo", "thing", "yolop"]


def test_hubconf_import_reads_are_cached_and_bounded():
    reads = []
    source = "".join(f"from geff import effnet_b0 as e{i}\n" for i in range(50))
    h = parse_hubconf(source, read=repo_reader(reads=reads))
    assert len(h["entrypoints"]) == 50 and len(reads) == len(set(reads)) <= 4
    # a deep chain of re-exports runs out of reads: the names past them stay listed, with a warning
    chain = {f"m{i}.py": f"from m{i + 1} import f\n" for i in range(40)}
    reads = []
    h = parse_hubconf("from m0 import f\n", read=repo_reader(chain, reads), max_reads=5)
    assert [e["name"] for e in h["entrypoints"]] == ["f"] and len(reads) <= 5
    # max depth reached before the reads ran out: no warning needed, the name stays listed
    h = parse_hubconf("from m0 import f\n", read=repo_reader(chain), max_reads=100)
    assert [e["name"] for e in h["entrypoints"]] == ["f"]
    h = parse_hubconf("from m0 import f\n", read=repo_reader(chain, []), max_reads=3)
    assert any("followed through 3 files" in w for w in h["warnings"])


def test_hubconf_modules_of_installed_and_standard_packages_are_not_listed():
    calls = []

    def installed(package, name):
        calls.append((package, name))
        return (package, name) == ("setuptools", "sandbox")
    h = parse_hubconf("from setuptools import sandbox, setup\n", is_installed_module=installed)
    assert [e["name"] for e in h["entrypoints"]] == ["setup"] and ("setuptools", "sandbox") in calls
    # the real lookup reads the installed packages' files and schema/hubconf.yml, importing nothing
    h = parse_hubconf("from concurrent import futures\nfrom os import path\nfrom setuptools import sandbox\n"
                      "from json import dumps\nfrom torch.utils import data\n")
    assert [e["name"] for e in h["entrypoints"]] == ["dumps"]


def test_hubconf_instance_made_in_the_file_is_warned_not_listed():
    h = parse_hubconf("from yacs.config import CfgNode\nfrom functools import partial\ndef f(): pass\n"
                      "cfg = CfgNode()\ntiny = partial(f)\n_private = CfgNode()\n")
    assert [e["name"] for e in h["entrypoints"]] == ["CfgNode", "partial", "f", "tiny"]
    assert len(h["warnings"]) == 1 and "'cfg' is an instance of CfgNode" in h["warnings"][0]


def test_hubconf_a_file_of_the_repository_that_is_not_python_is_no_error():
    files = {"lib/__init__.py": "def broken(:\n", "lib/x.py": b"\xff\xfe def"}
    h = parse_hubconf("from lib import a\nfrom lib.x import b\n", read=repo_reader(files))
    assert [e["name"] for e in h["entrypoints"]] == ["a", "b"] and h["warnings"] == []
