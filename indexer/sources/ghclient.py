"""The GitHub API as the github and torchhub sources use it: PyGithub, set up one way.

* GITHUB_API_URL (as in GitHub Actions) or a source's `endpoint` setting: the API's base URL.
* GITHUB_TOKEN from the environment, sent as `Authorization: token ...`; never written anywhere
  (not in the catalog, run details or logs).
* Retries are PyGithub's own GithubRetry: 5xx, 429 (waiting what Retry-After asks), timeouts,
  resets and secondary rate limits are retried; a primary rate limit is waited out only up to
  `max_rate_limit_wait` seconds, else RateLimited is raised and the source stops early, keeping
  what it read (the next run goes on from its caches). Under it, a RetryingSession (sources/http.py)
  retries what urllib3 cannot: a body cut short, or a 200 whose JSON does not parse.
* A host that does not resolve fails at once (SourceUnavailable), not after the retries.
"""

from __future__ import annotations

import datetime
import importlib.util
import logging
import math
import os
from typing import Any

from ..errors import SourceError, SourceUnavailable
from .base import FetchContext, preflight
from .http import RetryingSession, json_problem

log = logging.getLogger("modelcat")

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
    "timeout": (float, 30.0, "seconds to wait for GitHub's answer before retrying"),
    "retries": (int, 5, "retries of a request that failed in a way worth retrying"),
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
                  seconds_between_requests=cfg["seconds_between_requests"],
                  timeout=cfg.get("timeout", 30.0), retries=cfg.get("retries", 5))


def client(url: str, *, max_rate_limit_wait: float = 120, retries: int = 5, timeout: float = 30, per_page: int = 100,
           seconds_between_requests: float = 0.25):
    """A github.Github for `url` (with GITHUB_TOKEN when set). PyGithub spaces requests
    (0.25 s by default), as GitHub asks of integrations."""
    import github

    # GithubRetry adds 403 (rate limits) to these; 429 is GitHub's other rate-limit answer
    retry = github.GithubRetry(total=retries, backoff_factor=0.5, secondary_rate_wait=min(60, max_rate_limit_wait),
                               max_rate_limit_wait=max_rate_limit_wait,
                               status_forcelist=[429, *range(500, 600)])
    tok = token()
    auth = github.Auth.Token(tok) if tok else None
    # PyGithub takes whole seconds only; the connections get the exact timeout below
    gh = github.Github(auth=auth, base_url=url, retry=retry, timeout=max(1, math.ceil(timeout)), per_page=per_page,
                       user_agent="modelcat", seconds_between_requests=seconds_between_requests)
    _retry_bodies(gh, retries, float(timeout))
    return gh


def _retry_bodies(gh, retries: int, timeout: float) -> None:
    """Give PyGithub's connections a RetryingSession for bodies cut short or unparsable. PyGithub
    has no public hook for its session: the requester's connection class is set on this client
    only (never PyGithub's global injectConnectionClasses)."""
    from github import Requester as R

    attr = "_Requester__connectionClass"
    requester = gh.requester
    base = getattr(requester, attr, None)
    if base not in (R.HTTPRequestsConnectionClass, R.HTTPSRequestsConnectionClass):
        log.warning("github: PyGithub's connection class is not the one expected "
                                              "(%r): bodies cut short are not retried", base)
        return

    class Connection(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.timeout = timeout
            session = RetryingSession(timeout=timeout, retries=retries, base_wait=0.5,
                                      body_problem=json_problem, name="github")
            session.auth = self.session.auth
            session.mount(f"{self.protocol}://", self.adapter)  # GithubRetry stays under it
            self.session.close()
            self.session = session

    setattr(requester, attr, Connection)


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
