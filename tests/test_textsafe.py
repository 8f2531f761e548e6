"""Text from strangers stays inert (issue #20): the copyable load line is one call with one string
argument equal to the id, whatever the id holds; the CLI prints no control character from data."""

from __future__ import annotations

import ast
import json
import sqlite3

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.textsafe import display, load_line, py_literal, visible

PAYLOADS = [
    'evil/b", __import__("os").system("touch PWNED"), "',
    'evil/x", trust_remote_code=True, revision="main',
    "evil/\u202emodel\u2066exe.txt\u2069\u200b",
    "evil/\x1b[2J\x1b]0;owned\x07\rclean",
    "evil/back\\slash\\\"quote'single",
    "evil/\x00nul\x7fdel\x85nel\u2028ls\u00a0nbsp\ud800lone",
    "evil/{{ 7*7 }}<script>alert(1)</script>",
    "hf:timm/resnet18.a1_in1k",
]


def only_call(line: str) -> str:
    """The one string argument of the one load_model(...) call `line` is, or an assertion."""
    tree = ast.parse(line, mode="eval")
    call = tree.body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "load_model"
    assert not call.keywords and len(call.args) == 1 and isinstance(call.args[0], ast.Constant)
    assert isinstance(call.args[0].value, str)
    return call.args[0].value


@pytest.mark.parametrize("ident", PAYLOADS)
def test_the_load_line_is_one_call_with_the_id_as_its_only_argument(ident):
    line = load_line(ident)
    assert only_call(line) == ident
    assert line.isascii() or all(c.isprintable() for c in line)
    for c in "\x1b\x07\r\n\u202e\u2066\u200b\x00\x7f":
        assert c not in line
    assert ast.literal_eval(py_literal(ident)) == ident


def test_visible_escapes_what_a_terminal_would_obey():
    assert visible("evil/\x1b[2J\x07\r\u202e") == "evil/\\x1b[2J\\x07\\x0d\\u202e"
    assert visible("Zürich résumé 模型") == "Zürich résumé 模型"
    assert display("a\u202eb\u200bc\x1b[2Jd\ne") == "abc[2Jd e"


def _catalog_with(tmp_path, ident: str, name: str):
    from indexer.records import ModelRecord
    from indexer.store import Catalog

    db = tmp_path / "c.db"
    with Catalog.open(db) as cat, cat.transaction():
        w = cat.writer("hf")
        w.add(ModelRecord(id=ident, source="hf", name=name, task="image-classification", description=name,
                          tags=[name], library="transformers", loadable=True, load_backend="transformers"))
        w.finish(removed_since=None)
    return db


@pytest.mark.parametrize("fmt", ["table", "json", "ids"])
def test_the_cli_prints_no_control_character_from_data(tmp_path, fmt):
    evil = "hf:evil/\x1b[2J\x1b]0;owned\x07\rclean\u202e\x7f"
    db = _catalog_with(tmp_path, evil, "name \x1b[31mred\x9b")
    out = CliRunner().invoke(cli, ["search", "--db", str(db), "--format", fmt, "--include-test"])
    assert out.exit_code == 0, out.output
    bad = [c for c in out.output if (ord(c) < 32 and c not in "\n") or 0x7f <= ord(c) < 0xa0 or c in "\u202e"]
    assert not bad, (fmt, out.output)
    if fmt == "json":
        assert json.loads(out.output)[0]["id"] == evil  # escaped for the terminal, exact for scripts
    else:
        assert "\\x1b[2J" in out.output
    show = CliRunner().invoke(cli, ["show", "--db", str(db), evil])
    assert show.exit_code == 0, show.output
    assert not [c for c in show.output if (ord(c) < 32 and c not in "\n") or 0x7f <= ord(c) < 0xa0], show.output


def test_every_copy_line_on_a_page_is_one_call_with_the_id(tmp_path):
    import asyncio
    import html
    import re

    from indexer.serve import make_datasette

    evil = 'hf:evil/b", __import__("os").system("touch PWNED"), "'
    db = _catalog_with(tmp_path, evil, "x")
    ds = make_datasette(db)
    asyncio.run(ds.invoke_startup())
    page = asyncio.run(ds.client.get("/c/model_summary")).text
    copies = [html.unescape(m) for m in re.findall(r'data-copy="([^"]*)"', page)]
    assert copies and all(only_call(c) == evil for c in copies), copies
    shown = [html.unescape(m) for m in re.findall(r'<span class="mc-load"><code>(.*?)</code>', page)]
    assert shown == copies


# ---------------------------------------------------------------------- ids where they enter
HOSTILE_IDS = [
    'evil/b", __import__("os").system("touch PWNED"), "',
    'evil/x", trust_remote_code=True, revision="main',
    "evil/\u202emodel\u2066exe.txt",
    "evil/\x1b[2J\x1b]0;owned\x07\rclean",
    "evil/<img src=x onerror=alert(1)>",
    "evil/" + "x" * 300,
    "a--b/c",
    "evil/name.git",
]


def test_the_hub_source_stores_no_id_the_hub_would_not_allow(tmp_path, monkeypatch):
    """Through the real fetch path: whatever answers at HF_ENDPOINT, an id that breaks the Hub's
    rules is skipped with the reason (not stored), a base model that breaks them is no link."""
    from indexer.refresh import refresh
    from replay.hub import HubReplay

    good = {"id": "fine/model", "pipeline_tag": "image-classification", "tags": ["license:mit"],
            "cardData": {"base_model": ["ok/base", "x" * 1_000_000, 'evil", "x']}}
    records = [good] + [{"id": i, "pipeline_tag": "image-classification", "tags": []} for i in HOSTILE_IDS]
    with HubReplay(records, page_size=50) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        db = tmp_path / "c.db"
        [r] = refresh(db, ["hf"], config={"hf": {"page_size": 50}})
    assert r.status == "ok", r.error
    assert r.counts.skipped == len(HOSTILE_IDS)
    assert r.details["skip_reasons"] == {"not a valid Hub repository id": len(HOSTILE_IDS)}
    conn = sqlite3.connect(db)
    assert [i for (i,) in conn.execute("SELECT id FROM models")] == ["hf:fine/model"]
    assert conn.execute("SELECT related_id FROM model_relations").fetchall() == [("hf:ok/base",)]


# ---------------------------------------------------------------------- caps and display text
def test_every_cell_fits_its_cap_and_prose_carries_no_hidden_characters(tmp_path):
    from indexer.records import DatasetLink, Metric, ModelRecord, Relation
    from indexer.store import Catalog, cell_caps as _caps

    huge = "x" * 1_000_000
    rec = ModelRecord(id="hf:big/model", source="hf", name="big/model", author="a\u202eb\x1b[2J",
                      description="line\u200b one\u202e" + huge, license_name=huge, tags=[huge] * 3 + ["ok"] * 5000,
                      extra={f"k{i}": huge for i in range(50)},
                      datasets=[DatasetLink("hf/ds", "train", huge)],
                      metrics=[Metric(dataset_raw=huge, metric_raw="top1", value=1.0, origin=huge)],
                      relations=[Relation("finetune", "hf:ok/base", huge)])
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat, cat.transaction():
        w = cat.writer("hf")
        w.add(rec)
        w.finish(removed_since=None)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    caps = _caps()[0]
    for table, cols in caps.items():
        for row in conn.execute(f"SELECT * FROM [{table}]"):
            for c, n in cols.items():
                v = row[c] if c in row.keys() else None
                assert v is None or not isinstance(v, str) or len(v) <= n, (table, c, len(v))
    row = conn.execute("SELECT * FROM models").fetchone()
    assert row["author"] == "ab[2J" and row["description"].startswith("line one") and row["description"].endswith("…")
    tags = json.loads(row["tags"])
    assert tags[-1].startswith("… ") and tags[-1].endswith(" more") and len(row["tags"]) <= caps["models"]["tags"]
    extra = json.loads(row["extra"])
    assert "…" in extra and len(row["extra"]) <= caps["models"]["extra"]
    assert conn.execute("SELECT raw FROM model_relations").fetchone()[0].endswith("…")
    # a cell written before the caps (or by hand) is reported by `modelcat check`
    conn.execute("UPDATE models SET name = ?", ("n" * 5000,))
    conn.commit()
    conn.close()
    out = CliRunner().invoke(cli, ["check", "--db", str(db), "--quick"])
    assert out.exit_code == 1 and "cell sizes" in out.output and "name over the cap (300)" in out.output, out.output


def test_a_page_shows_hidden_characters_of_raw_text_as_escapes(tmp_path):
    import asyncio

    from indexer.records import DatasetLink
    from indexer.serve import make_datasette
    from indexer.records import ModelRecord
    from indexer.store import Catalog

    db = tmp_path / "c.db"
    with Catalog.open(db) as cat, cat.transaction():
        w = cat.writer("hf")
        w.add(ModelRecord(id="hf:ok/model", source="hf", name="ok/model",
                          datasets=[DatasetLink("hf/ds", "train", "raw\u202eexe.txt\x1b[2J")]))
        w.finish(removed_since=None)
    ds = make_datasette(db)
    asyncio.run(ds.invoke_startup())
    page = asyncio.run(ds.client.get("/c/model_datasets")).text
    assert "\u202e" not in page and "\x1b" not in page
    assert "<bdi>raw\\u202eexe.txt\\x1b[2J</bdi>" in page


# ---------------------------------------------------------------------- small ones
@pytest.mark.parametrize("args, says", [
    (["--source", "timmm"], "unknown source 'timmm' (did you mean timm"),
    (["--library", "timmm"], "no model has the library 'timmm' (did you mean timm"),
    (["--license", "apache3"], "no model has the license 'apache3' (did you mean apache-2.0"),
])
def test_a_misspelt_filter_is_an_error_with_the_nearest_value(built_catalog, args, says):
    out = CliRunner().invoke(cli, ["search", "--db", str(built_catalog), *args])
    assert out.exit_code == 1 and says in out.output, out.output


def test_a_license_spelling_the_table_knows_is_its_id(built_catalog):
    out = CliRunner().invoke(cli, ["search", "--db", str(built_catalog), "--license", "Apache 2.0", "--format", "ids",
                                   "--limit", "3"])
    assert out.exit_code == 0 and len(out.output.split()) == 3, out.output


@pytest.mark.parametrize("offline, says", [("1", "unset HF_HUB_OFFLINE"), ("", "check the network")])
def test_an_offline_load_names_the_fix_that_applies(monkeypatch, offline, says):
    from huggingface_hub import errors as hf

    from indexer.loader.base import hub_error

    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    err = hub_error(hf.LocalEntryNotFoundError("not cached"), "loading hf:a/b", "a/b")
    assert says in str(err) and (offline or "HF_HUB_OFFLINE" not in str(err))
