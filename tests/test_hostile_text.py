"""The hostile-text tier (issue #20): text written by strangers, fed through every network source's
real fetch path (the Hub, GitHub, PyTorch Hub, arXiv and NGC replays), stays inert wherever the catalog
shows or copies it:

- pages, in a real browser (headless chromium): no dialog opens, no element, event attribute or
  `javascript:` URL comes from the data, every copyable load line is one call with one string
  argument equal to a catalog id;
- the CLI (search as table, json and ids; show) prints no control character from data;
- every stored id is valid for its source (schema/ids.yml), every cell fits its cap
  (schema/caps.yml), prose columns hold no control or invisible format character.

Payload classes: quotes breaking out of Python strings, <script>, event-handler attributes,
javascript: URLs, template syntax, bidi and zero-width characters, terminal escapes (where the
format can carry them: JSON yes, XML no), NUL and lone surrogates, 1 MB values.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
import urllib.request

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.normalize.ids import valid_id
from indexer.refresh import refresh
from indexer.store import cell_caps as _caps
from replay.arxiv import paper
from replay.synth import synthetic_models
from test_browser import CHROMIUM_ARGS, _requirements, serving

from conftest import IN_CI
from dbrows import rows

PY_BREAK = '", __import__("os").system("touch PWNED"), "'
SCRIPT = "<script>alert('xss')</script>"
ATTR = "\" onmouseover=\"alert('xss')\" x=\"<img src=x onerror=alert('xss')>"
JS_URL = "javascript:alert('xss')"
TEMPLATE = "{{ 7*7 }} {% print 'x' %} ${7*7}"
BIDI = "\u202egnp.exe\u2066x\u2069\u200b\u200f"
TERMINAL = "\x1b[2J\x1b]0;owned\x07\rhidden"
ODD = "nul\x00 del\x7f c1\x9b"  # (a lone surrogate: the normalizers are fed those in test_hostile_records)
HUGE = "h" * 1_000_000
TEXTS = [PY_BREAK, SCRIPT, ATTR, TEMPLATE, BIDI, TERMINAL, ODD]
ID_TEXTS = [t for t in TEXTS if t != ODD] + ["nul\x00del\x7f"]  # the replay's own hashing needs encodable ids
XML_SAFE = [PY_BREAK, SCRIPT, ATTR, TEMPLATE, BIDI]  # arXiv's Atom cannot carry control characters


def ngc_models() -> list[dict]:
    """NGC resources whose every text field is a payload; ids that break NGC's rule are skipped."""
    from replay.ngc import ngc_model

    out = [ngc_model(f"hostile/model-{i}", displayName=text, description=text + " " + SCRIPT,
                     labels=[{"key": "general", "values": [text[:100], SCRIPT]}, {"key": "framework", "values": [ATTR]}],
                     attributes=[{"key": "application", "value": TEMPLATE}, {"key": "format", "value": BIDI},
                                 {"key": "latestVersionIdStr", "value": PY_BREAK}, {"key": "license", "value": JS_URL}],
                     detail={"licenseTerms": [{"licenseId": text, "licenseVersion": SCRIPT, "governingTerms": JS_URL}],
                             "publicDatasetUsed": {"name": text, "link": JS_URL, "license": ATTR},
                             "builtBy": SCRIPT, "publisher": TEMPLATE},
                     files=[{"path": text[:200] + ".pt", "sizeInBytes": 1, "sha256_base64": text[:60]}])
           for i, text in enumerate(TEXTS + [HUGE])]
    return out + [ngc_model(f"hostile/{text}") for text in ID_TEXTS]


def kaggle_models() -> list[dict]:
    """Kaggle models whose every text field is a payload; handles that break Kaggle's rule are skipped."""
    from replay.kaggle import kaggle_instance, kaggle_model

    out = [kaggle_model(f"hostile/model-{i}", [kaggle_instance(
        "base", "pyTorch", licenseName=text[:200], trainingData=[text, JS_URL], overview=text, usage=SCRIPT,
        externalBaseModelUrl=JS_URL, modelInstanceType=ATTR)],
        title=text, subtitle=SCRIPT, description=text + " " + SCRIPT, author=TEMPLATE, provenanceSources=BIDI,
        tags=[{"ref": "x", "name": text[:100]}, {"ref": "y", "name": SCRIPT}])
        for i, text in enumerate(TEXTS + [HUGE])]
    return out + [kaggle_model("hostile/ids", [kaggle_instance(text.replace("/", "_"), "pyTorch", url="")
                                               for text in ID_TEXTS])]


def hub_models() -> list[dict]:
    out = []
    for i, text in enumerate(TEXTS + [HUGE]):
        out.append({
            "id": f"hostile/model-{i}", "author": text,
            # a pipeline tag the catalog does not know is kept raw (task_raw): shown, never obeyed
            "pipeline_tag": "image-classification" if i % 2 else text[:100],
            "library_name": "transformers" if i % 3 else text[:100],
            "tags": ["transformers", "image-classification", text[:2000], "license:other", "arxiv:2101.00001",
                     f"base_model:{text[:300]}", "dataset:imagenet-1k"],
            "cardData": {"license": "other", "license_name": text, "datasets": [text, "imagenet-1k"],
                         "base_model": [text], "repo": "https://github.com/hostile/repo",
                         "model-index": [{"name": text, "results": [{
                             "dataset": {"name": text, "type": text, "split": text},
                             "source": {"name": text, "url": JS_URL},
                             "metrics": [{"type": text, "value": 91.5}, {"type": "accuracy", "value": 91.5}]}]}]},
            "evalResults": [{"filename": f".eval_results/{text[:50]}.yaml", "data": {
                "dataset": {"id": "cais/hle", "task_id": text[:100]}, "value": 50, "notes": text,
                "source": {"name": text, "url": JS_URL}}}],
            "safetensors": {"parameters": {"F32": 1_000_000 + i}, "total": 1_000_000 + i},
            "downloads": 10 + i,
        })
    # the ids themselves: every one of these must be skipped, never stored
    for text in ID_TEXTS:
        out.append({"id": f"hostile/{text.replace('/', '_')}", "pipeline_tag": "image-classification"})
    return out


HOSTILE_PAGE = """---
layout: hub_detail
title: {title}
summary: {summary}
category: researchers
author: {author}
tags: [vision]
github-link: {link}
github-id: hostile/repo
---

```python
model = torch.hub.load('hostile/repo', 'hostile_net', pretrained=True)
```
"""

HOSTILE_HUBCONF = '''dependencies = ["torch"]


def hostile_net(pretrained=False, **kwargs):
    """{doc}"""
    return None
'''


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    from replay.arxiv import ArxivReplay
    from replay.github import GitHubReplay
    from replay.hub import HubReplay
    from replay.kaggle import KaggleReplay
    from replay.ngc import NgcReplay
    from replay.world import build_arxiv, build_github

    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("hostile")
    with HubReplay(synthetic_models(60, seed=5) + hub_models(), page_size=25) as hub, GitHubReplay() as gh, \
            ArxivReplay() as ax, NgcReplay(ngc_models()) as ngc, KaggleReplay(kaggle_models()) as kaggle:
        build_github(gh)
        build_arxiv(ax)
        safe = SCRIPT + " " + ATTR + " " + BIDI + " " + TEMPLATE + " " + PY_BREAK
        gh.add_repo("hostile/repo", files={
            "hubconf.py": HOSTILE_HUBCONF.format(doc=SCRIPT + BIDI + TEMPLATE),
            "README.md": f"# {SCRIPT}\n{ATTR}\n[paper](https://arxiv.org/abs/2101.00001) {TERMINAL}"},
            description=safe + TERMINAL + HUGE, homepage=JS_URL, topics=[SCRIPT, BIDI, "x" * 5000],
            stars=5, license="mit", language=SCRIPT)
        gh.set_file("pytorch/hub", "hostile_repo.md", HOSTILE_PAGE.format(
            title=SCRIPT.replace(":", " "), summary=ATTR.replace(":", " ") + BIDI, author=TEMPLATE,
            link="https://github.com/hostile/repo"))
        ax.add(paper("2101.00001", title=safe, authors=[SCRIPT, BIDI, PY_BREAK] * 5, abstract=safe * 10 + "a" * 200_000,
                     comment=ATTR, journal_ref=TEMPLATE, categories=["cs.CV"], primary_category="cs.CV"))
        mp.setenv("HF_ENDPOINT", hub.url)
        mp.setenv("GITHUB_API_URL", gh.url)
        mp.setenv("ARXIV_API_URL", ax.url)
        mp.setenv("NGC_API_URL", ngc.url)
        mp.delenv("NGC_API_KEY", raising=False)
        mp.setenv("KAGGLE_API_URL", kaggle.url)
        for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
            mp.delenv(var, raising=False)
        mp.setenv("KAGGLE_CONFIG_DIR", str(folder / "no-kaggle-config"))
        mp.delenv("HF_TOKEN", raising=False)
        mp.delenv("GITHUB_TOKEN", raising=False)
        db = folder / "catalog.db"
        config = {"hf": {"page_size": 25, "retries": 1}, "github": {"seconds_between_requests": 0},
                  "torchhub": {"seconds_between_requests": 0}, "arxiv": {"delay_seconds": 0}, "ngc": {"page_size": 5},
                  "kaggle": {"page_size": 5}}
        try:
            nights = []
            for _ in range(2):  # the second night reads what the first one's links named
                nights.append(refresh(db, ["hf", "github", "torchhub", "arxiv", "ngc", "kaggle"], config=config))
                assert all(r.status == "ok" for r in nights[-1]), [(r.source, r.error) for r in nights[-1]]
        finally:
            mp.undo()
    return db, {r.source: r for r in nights[0]}  # the first night: the Hub's full sweep


def _rows(db, sql, *args):
    return rows(db, sql, *args)


def test_the_payloads_reached_the_catalog_through_every_source(catalog):
    db, _ = catalog
    assert len(_rows(db, "SELECT id FROM models WHERE id LIKE 'hf:hostile/model-%'")) == len(TEXTS) + 1
    assert _rows(db, "SELECT 1 FROM repos WHERE id = 'github:hostile/repo' AND description LIKE '%<script>%'")
    assert _rows(db, "SELECT 1 FROM papers WHERE id = 'arxiv:2101.00001' AND title LIKE '%<script>%'")
    assert _rows(db, "SELECT 1 FROM models WHERE id = 'torchhub:hostile/repo:hostile_net'")
    assert _rows(db, "SELECT 1 FROM metrics WHERE dataset_raw LIKE '%<script>%'")
    assert len(_rows(db, "SELECT id FROM models WHERE id LIKE 'ngc:hostile/model-%'")) == len(TEXTS) + 1
    # (the 1 MB one's description is cut to its cap before the <script> that follows it)
    assert len(_rows(db, "SELECT id FROM models WHERE id LIKE 'ngc:hostile/model-%' AND description LIKE '%<script>%'")) \
        == len(TEXTS)
    assert len(_rows(db, "SELECT id FROM models WHERE id LIKE 'kaggle:hostile/model-%' AND description LIKE '%<script>%'")) \
        == len(TEXTS) + 1


def test_no_stored_id_breaks_its_sources_rule(catalog):
    db, results = catalog
    kinds = {"hf": "hf_repo", "timm": "timm", "torchvision": "torchvision", "torchhub": "torchhub", "ngc": "ngc",
             "kaggle": "kaggle"}
    for r in _rows(db, "SELECT id, source FROM models"):
        assert valid_id(kinds[r["source"]], r["id"].split(":", 1)[1]), r
    for r in _rows(db, "SELECT id FROM repos"):
        assert valid_id("github_repo", r["id"].split(":", 1)[1]), r
    assert results["hf"].counts.skip_reasons.get("not a valid Hub repository id") == len(ID_TEXTS)
    assert results["ngc"].counts.skip_reasons.get("not a valid NGC model id") == len(ID_TEXTS)
    assert sum(n for why, n in results["kaggle"].counts.skip_reasons.items() if "Kaggle" in why) == len(ID_TEXTS)


def test_every_cell_fits_its_cap_and_prose_has_no_hidden_characters(catalog):
    db, _ = catalog
    caps, shown = _caps()
    for table, cols in caps.items():
        over = " OR ".join(f"length([{c}]) > {n}" for c, n in cols.items())
        assert _rows(db, f"SELECT count(*) AS n FROM [{table}] WHERE {over}")[0]["n"] == 0, table
    for table, cols in shown.items():
        for row in _rows(db, f"SELECT {', '.join(cols)} FROM [{table}]"):
            for c, v in row.items():
                assert v is None or not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in v), (table, c, v[:80])


CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("fmt", ["table", "json", "ids"])
def test_the_cli_prints_no_control_character_in_any_format(catalog, fmt):
    db, _ = catalog
    out = CliRunner().invoke(cli, ["search", "--db", str(db), "--format", fmt, "--include-test", "--every-source"])
    assert out.exit_code == 0, out.output[-2000:]
    assert not CONTROL.search(out.output), repr(CONTROL.search(out.output))
    for ident in ("hf:hostile/model-5", "github:hostile/repo", "arxiv:2101.00001", "torchhub:hostile/repo:hostile_net",
                  "ngc:hostile/model-5", "kaggle:hostile/model-5/pyTorch/base"):
        for args in ([], ["--json"]):
            show = CliRunner().invoke(cli, ["show", "--db", str(db), ident, *args])
            assert show.exit_code == 0, show.output[-2000:]
            assert not CONTROL.search(show.output), (ident, args, repr(CONTROL.search(show.output)))


# ---------------------------------------------------------------------- in a real browser
DOM_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 60));
      if (/^\\s*javascript:/i.test(a.value)) bad.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 60));
    }
  }
  for (const s of document.querySelectorAll('script')) if (s.textContent.includes("alert('xss')")) bad.push('script');
  for (const i of document.querySelectorAll('img[src="x"]')) bad.push('img src=x');
  return bad;
}"""


def _pages(base: str, db) -> list[str]:
    """Every page type a user reaches with the payloads on it."""
    from datasette.utils import tilde_encode

    meta = json.load(urllib.request.urlopen(base + "/-/metadata.json"))
    queries = list(meta["databases"]["catalog"].get("queries", {}))
    tables = [r["name"] for r in _rows(db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                           "AND name NOT LIKE '%fts%' AND name NOT LIKE 'sqlite_%' "
                                           "AND name NOT LIKE '\\_%' ESCAPE '\\'")]
    rows = {"models": ["hf:hostile/model-1", "hf:hostile/model-2", "hf:hostile/model-4", "torchhub:hostile/repo:hostile_net",
                       "ngc:hostile/model-1", "ngc:hostile/model-2", "ngc:hostile/model-4",
                       "kaggle:hostile/model-1/pyTorch/base", "kaggle:hostile/model-4/pyTorch/base"],
            "papers": ["arxiv:2101.00001"], "repos": ["github:hostile/repo"]}
    pages = ["/", "/catalog", "/-/modelcat/chart?db=catalog"]
    pages += [f"/catalog/{t}?_search=hostile" if t in ("models", "papers", "repos") else f"/catalog/{t}" for t in tables]
    pages += [f"/catalog/{t}" for t in ("models", "papers", "repos")]
    pages += [f"/catalog/{q}" for q in queries]
    pages += [f"/catalog/{t}/{tilde_encode(i)}" for t, ids in rows.items() for i in ids]
    pages += ["/catalog/model_summary?author=" + urllib.request.quote(SCRIPT),
              "/catalog/metrics?model_id=hf%3Ahostile%2Fmodel-1", "/catalog/search_everything?q=hostile"]
    return pages


def _an_id(value: str) -> bool:
    scheme, _, rest = value.partition(":")
    kind = {"hf": "hf_repo", "timm": "timm", "torchvision": "torchvision", "torchhub": "torchhub"}.get(scheme)
    return kind is not None and valid_id(kind, rest)


def test_every_page_type_in_a_real_browser(catalog):
    missing = _requirements()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true: the hostile-text browser test must run, but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    from test_browser import CHROMIUM

    db, _ = catalog
    with serving(db) as base:
        ids = {r["id"] for r in _rows(db, "SELECT id FROM models")}
        dialogs, problems, copies = [], [], 0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            for path in _pages(base, db):
                resp = page.goto(base + path)
                assert resp is not None and resp.status < 500, (path, resp and resp.status)
                page.hover("body")  # (an event attribute from the data would be found below, fired or not)
                problems += [f"{path}: {x}" for x in page.evaluate(DOM_CHECK)]
                for line in page.eval_on_selector_all("[data-copy]", "els => els.map(e => e.getAttribute('data-copy'))"):
                    call = ast.parse(line, mode="eval").body
                    assert isinstance(call, ast.Call) and call.func.id == "load_model" and not call.keywords, line
                    assert len(call.args) == 1 and isinstance(call.args[0].value, str), (path, line)
                    arg = call.args[0].value  # a catalog row, or a valid id of one a link names
                    assert arg in ids or _an_id(arg), (path, line)
                    copies += 1
                text = page.inner_text("body")
                assert "\u202e" not in text and "\x1b" not in text, path
            browser.close()
        assert dialogs == [] and problems == []
        assert copies > 20
