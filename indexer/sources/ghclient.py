"""The GitHub API as the github and torchhub sources use it: PyGithub, set up one way.

* GITHUB_API_URL (as in GitHub Actions) or a source's `endpoint` setting: the API's base URL.
* GITHUB_TOKEN from the environment, sent as `Authorization: token ...`; never written anywhere
  (not in the catalog, run details or logs).
* Retries are PyGithub's own GithubRetry: 5xx and secondary rate limits are retried; a primary
  rate limit is waited out only up to `max_rate_limit_wait` seconds, else RateLimited is raised and
  the source stops early, keeping what it read (the next run goes on from its caches).
* A host that does not resolve fails at once (SourceUnavailable), not after the retries.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
from typing import Any

from ..errors import SourceError, SourceUnavailable
from .base import FetchContext, preflight

DEFAULT_API = "https://api.github.com"
# the repository fields the catalog keeps (GitHub's names)
REPO_FIELDS = ("full_name", "name", "description", "html_url", "homepage", "stargazers_count", "forks_count",
               "open_issues_count", "license", "topics", "language", "created_at", "pushed_at", "archived",
               "fork", "default_branch", "owner", "private", "disabled",
               "watchers", "forks", "open_issues")  # the old API's names of the three counters


class RateLimited(SourceError):
    """GitHub's rate limit would need a longer wait than the source allows."""


def api_url(setting: str | None = None) -> str:
    return (setting or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")


def token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or None


# the settings every source that reads GitHub has (modelcat.toml [github], [torchhub])
SETTINGS = {
    "seconds_between_requests": (float, 0.25, "pause between GitHub requests"),
    "max_rate_limit_wait": (float, 120.0, "longest wait for a GitHub rate-limit reset before stopping early"),
    "endpoint": (str, "", "the GitHub API's base URL (default: $GITHUB_API_URL, else https://api.github.com)"),
}


def connect(ctx: FetchContext, cfg: dict):
    """A client for a source's run (cfg holds SETTINGS): fails at once when PyGithub is missing
    or the API's host does not resolve; notes the API and whether a token is used."""
    if importlib.util.find_spec("github") is None:
        raise SourceUnavailable("PyGithub is not installed: run the README's set-up")
    url = api_url(cfg["endpoint"])
    preflight(url, "the GitHub API", "GITHUB_API_URL")
    ctx.details.update(api=url, authenticated=token() is not None)
    return client(url, max_rate_limit_wait=cfg["max_rate_limit_wait"],
                  seconds_between_requests=cfg["seconds_between_requests"])


def client(url: str, *, max_rate_limit_wait: float = 120, retries: int = 5, timeout: float = 30, per_page: int = 100,
           seconds_between_requests: float = 0.25):
    """A github.Github for `url` (with GITHUB_TOKEN when set). PyGithub spaces requests
    (0.25 s by default), as GitHub asks of integrations."""
    import github

    retry = github.GithubRetry(total=retries, backoff_factor=0.5, secondary_rate_wait=min(60, max_rate_limit_wait),
                               max_rate_limit_wait=max_rate_limit_wait)
    tok = token()
    auth = github.Auth.Token(tok) if tok else None
    return github.Github(auth=auth, base_url=url, retry=retry, timeout=timeout, per_page=per_page,
                         user_agent="modelcat", seconds_between_requests=seconds_between_requests)


def translate(e: Exception, what: str) -> Exception:
    """PyGithub's exceptions -> the source's: rate limits, auth, unavailable hosts."""
    import github

    if isinstance(e, github.RateLimitExceededException):
        wait = getattr(e, "wait", None)
        hint = "" if token() else " (anonymous: 60 requests/hour; set GITHUB_TOKEN for 5000)"
        return RateLimited(f"GitHub rate limit reached while reading {what}"
                           + (f": the reset is {wait:.0f} s away" if wait else "") + hint)
    if isinstance(e, github.BadCredentialsException):
        return SourceError("GitHub refused GITHUB_TOKEN (401 Bad credentials): set a valid token or unset it")
    if isinstance(e, github.GithubException):
        message = (e.data or {}).get("message") if isinstance(e.data, dict) else None
        return SourceError(f"GitHub answered {e.status} for {what}" + (f": {message}" if message else ""))
    return SourceError(f"GitHub: {what}: {type(e).__name__}: {e}")


def is_not_found(e: Exception) -> bool:
    import github

    return isinstance(e, github.UnknownObjectException) or (isinstance(e, github.GithubException) and e.status == 404)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if isinstance(value, str) else None  # GitHub's own ISO text, or nothing


def repo_raw(repo) -> dict:
    """The fields of a PyGithub Repository the catalog keeps, as plain JSON, from the answer it
    came in: a search hit or get_repo already holds them all. Not `repo.raw_data`: on a search
    hit PyGithub "completes" the object first, one more GET /repos/... per hit (a 1000-result
    search would cost 1000 requests more, beyond the anonymous 60 an hour)."""
    data = getattr(repo, "_rawData", None)
    if not isinstance(data, dict):
        data = repo.raw_data if hasattr(repo, "raw_data") else dict(repo)
    out = {k: data.get(k) for k in REPO_FIELDS if k in data}
    owner = data.get("owner")
    out["owner"] = owner.get("login") if isinstance(owner, dict) else owner
    lic = data.get("license")
    out["license"] = {k: lic.get(k) for k in ("key", "name", "spdx_id")} if isinstance(lic, dict) else None
    for k in ("created_at", "pushed_at"):
        out[k] = _iso(out.get(k))
    return out
