"""GitHub repositories named in text: URLs in model cards, timm's origin_url, paper abstracts."""

from __future__ import annotations

import re
from typing import Any

from .ids import valid_id

# github.com/<owner>/<repo>, also as git@github.com:owner/repo.git and raw.githubusercontent.com
_GITHUB = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?(?:github\.com[/:]|raw\.githubusercontent\.com/)"
    r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9_.-]{1,100})",
)
# first path segments that are GitHub pages, not owners
_NOT_OWNERS = frozenset({
    "about", "apps", "blog", "collections", "contact", "customer-stories", "enterprise", "events",
    "explore", "features", "github", "issues", "login", "marketplace", "new", "notifications",
    "orgs", "organizations", "pricing", "pulls", "readme", "search", "security", "settings",
    "site", "sponsors", "team", "topics", "trending", "users", "join", "codespaces", "resources",
})


def github_repo_ids(text: Any) -> list[tuple[str, str]]:
    """Every GitHub repository named in `text` (a string, or a list of them), as (catalog id
    "github:<owner>/<name>" in lower case, the full name as written), in order, each once."""
    if text is None:
        return []
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in text if isinstance(text, (list, tuple)) else (text,):
        if item is None:
            continue
        item = str(item)[:200_000]
        if "github" not in item:  # every form the pattern knows has it: most texts stop here
            continue
        for m in _GITHUB.finditer(item):
            owner, repo = m.group("owner"), m.group("repo")
            repo = repo.rstrip(".")
            if repo.endswith(".git"):
                repo = repo[:-4]
            if not repo or owner.lower() in _NOT_OWNERS or repo in (".", "..") or not valid_id(
                    "github_repo", f"{owner}/{repo}"):
                continue
            ident = f"github:{owner}/{repo}".lower()
            if ident not in seen:
                seen.add(ident)
                out.append((ident, f"{owner}/{repo}"))
    return out


def weights_file_url(value: Any) -> str | None:
    """A weights file's download URL as evidence of identity (store/evidence.py): an http(s) URL
    with a path, its scheme and host lower-case, without a fragment; None for anything else (a Hub
    repository name, a local path)."""
    from urllib.parse import urlsplit, urlunsplit

    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.path in ("", "/"):
        return None
    netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))
