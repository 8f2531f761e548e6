"""Tokens come from the environment only: a refresh with HF_TOKEN and GITHUB_TOKEN set (and
sent: the replays see them) leaves them nowhere - not in the catalog file, not in the logs at
the most verbose level, not in a failed run's error, not on any Datasette page."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from indexer.serve import make_datasette
from replay.arxiv import ArxivReplay
from replay.github import GitHubReplay
from replay.hub import HubReplay
from replay.synth import synthetic_models
from replay.world import build_arxiv, build_github

HF_SECRET = "hf_PLANTEDsecretTOKEN0123456789abcdef"
GH_SECRET = "ghp_PLANTEDsecretTOKEN0123456789abcdef"


def refresh(db: Path, env: dict, *sources: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "indexer", "-vv", "refresh", "--db", str(db), "--config", str(db.parent / "m.toml")]
    for s in sources:
        args += ["--source", s]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def test_planted_tokens_appear_nowhere(tmp_path):
    db = tmp_path / "catalog.db"
    (tmp_path / "m.toml").write_text(
        '[hf]\ninclude_private = true\n\n[arxiv]\ndelay_seconds = 0\n\n[github]\nmax_rate_limit_wait = 5\nseconds_between_requests = 0\n'
        '[torchhub]\nmax_rate_limit_wait = 5\nseconds_between_requests = 0\n')
    models = synthetic_models(300)
    models[0] = {**models[0], "id": "acme/private-model", "private": True}  # listed only with the token
    with HubReplay(models, page_size=100, tokens={HF_SECRET}) as hub, GitHubReplay() as gh, ArxivReplay() as ax:
        build_github(gh)
        build_arxiv(ax)
        env = {**os.environ, "HF_TOKEN": HF_SECRET, "GITHUB_TOKEN": GH_SECRET, "HF_ENDPOINT": hub.url,
               "GITHUB_API_URL": gh.url, "ARXIV_API_URL": ax.url, "MODELCAT_CACHE_DIR": str(tmp_path / "cache"),
               "HF_HOME": str(tmp_path / "hf")}
        first = refresh(db, env, "hf", "github", "torchhub", "arxiv")
        assert first.returncode == 0, first.stderr[-3000:]
        # the tokens were really used
        assert any(r["auth"] and GH_SECRET in r["auth"] for r in gh.requests)
        assert sqlite3.connect(db).execute("SELECT count(*) FROM models WHERE id = 'hf:acme/private-model'").fetchone()[0]
        # a night GitHub rejects the token: the failure is reported without it
        gh.fail_next(50, status=401, body={"message": "Bad credentials"})
        hub.fail_next(50, status=500)
        second = refresh(db, env, "hf", "github")
    assert second.returncode == 1
    logs = first.stdout + first.stderr + second.stdout + second.stderr
    assert "Bad credentials" in logs or "401" in logs
    for secret in (HF_SECRET, GH_SECRET):
        assert secret not in logs
        assert secret[-12:] not in logs  # not even a tail of it
        for f in tmp_path.rglob("*"):  # the catalog, its -wal, modelcat's cache, the Hub client's cache
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f
    errors = [r[0] for r in sqlite3.connect(db).execute("SELECT error FROM runs WHERE error IS NOT NULL")]
    assert errors and all(HF_SECRET not in e and GH_SECRET not in e for e in errors)

    ds = make_datasette(db)

    async def pages():
        await ds.invoke_startup()
        out = [(await ds.client.get("/")).text, (await ds.client.get("/catalog.json")).text]
        for table in (await ds.client.get("/catalog.json")).json()["tables"]:
            out.append((await ds.client.get(f"/catalog/{table['name']}.json?_size=max")).text)
        for path in ("/-/settings.json", "/-/metadata.json", "/-/plugins.json", "/-/versions.json"):
            out.append((await ds.client.get(path)).text)
        return out

    for page in asyncio.run(pages()):
        assert HF_SECRET not in page and GH_SECRET not in page
