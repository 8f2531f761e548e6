"""An in-memory GitHub REST API server for tests that run the real PyGithub client offline.

    with GitHubReplay() as gh:
        gh.add_repo("acme/tinynets", files={"hubconf.py": "..."}, stars=420, license="mit")
        g = github.Github(base_url=gh.url)        # or GITHUB_API_URL=gh.url

Endpoints, in GitHub's shapes (see ../../../shared/fixtures-raw/github): GET /repos/{owner}/{repo}
(names ignore case; 404 {"message": "Not Found"}), /repos/{o}/{r}/contents/{path}[?ref=] (a file:
base64 content wrapped at 60 characters, git blob sha; a directory: a list of entries),
/repos/{o}/{r}/readme, /search/repositories (free words and qualifiers topic:, language:, stars:,
forks:, license:, archived:, fork:, user:, org:, in:; sort=stars|forks|updated; Link pagination;
only the first `search_cap` results; 422 for an unknown qualifier), /search/code (signed-in only:
401 otherwise; filename:, path:, extension:, language:, repo:, user:, org:, words in content),
/rate_limit. Every answer carries X-RateLimit-* headers.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from .server import LocalServer, QuietHandler

__all__ = ["GitHubReplay", "repo_json"]

_DOCS = "https://docs.github.com/rest"
_LICENSES = {
    "mit": ("MIT License", "MIT"), "apache-2.0": ("Apache License 2.0", "Apache-2.0"),
    "bsd-3-clause": ('BSD 3-Clause "New" or "Revised" License', "BSD-3-Clause"),
    "gpl-3.0": ("GNU General Public License v3.0", "GPL-3.0"), "agpl-3.0": ("GNU Affero General Public License v3.0", "AGPL-3.0"),
    "bsd-2-clause": ('BSD 2-Clause "Simplified" License', "BSD-2-Clause"), "cc0-1.0": ("Creative Commons Zero v1.0 Universal", "CC0-1.0"),
}


def _id(name: str) -> int:
    return int(hashlib.sha1(name.lower().encode()).hexdigest()[:8], 16)


def _license(key):
    if key is None:
        return None
    if key == "NOASSERTION":
        return {"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": None, "node_id": "MDc6TGljZW5zZTA="}
    name, spdx = _LICENSES.get(key, (key, key.upper()))
    return {"key": key, "name": name, "spdx_id": spdx, "url": f"https://api.github.com/licenses/{key}",
            "node_id": "MDc6TGljZW5zZT" + base64.b64encode(key.encode()).decode().rstrip("=")}


def repo_json(full_name: str, **overrides) -> dict:
    """A repository as GET /repos/{owner}/{repo} answers it."""
    owner, name = full_name.split("/")
    rid = _id(full_name)
    api = "https://api.github.com"
    data = {
        "id": rid, "node_id": base64.b64encode(f"010:Repository{rid}".encode()).decode(), "name": name,
        "full_name": full_name, "private": False,
        "owner": {"login": owner, "id": _id(owner), "node_id": "MDQ6VXNlcj" + str(_id(owner)),
                  "avatar_url": f"https://avatars.githubusercontent.com/u/{_id(owner)}?v=4",
                  "url": f"{api}/users/{owner}", "html_url": f"https://github.com/{owner}", "type": "Organization",
                  "site_admin": False},
        "html_url": f"https://github.com/{full_name}", "description": None, "fork": False,
        "url": f"{api}/repos/{full_name}", "created_at": "2019-03-01T10:00:00Z", "updated_at": "2024-04-01T10:00:00Z",
        "pushed_at": "2024-03-30T08:15:00Z", "git_url": f"git://github.com/{full_name}.git",
        "clone_url": f"https://github.com/{full_name}.git", "homepage": None, "size": 1024,
        "stargazers_count": 0, "watchers_count": 0, "language": None, "has_issues": True,
        "forks_count": 0, "archived": False, "disabled": False, "open_issues_count": 0,
        "license": None, "allow_forking": True, "is_template": False, "topics": [], "visibility": "public",
        "forks": 0, "open_issues": 0, "watchers": 0, "default_branch": "main",
    }
    for key, value in overrides.items():
        if key == "stars":
            data["stargazers_count"] = data["watchers_count"] = data["watchers"] = value
        elif key == "forks":
            data["forks_count"] = data["forks"] = value
        elif key == "license":
            data["license"] = _license(value)
        else:
            data[key] = value
    return data


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _HTTPError(Exception):
    def __init__(self, status: int, body: dict, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


_QUALIFIER = re.compile(r'(-?)(\w+):("[^"]*"|\S+)')


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def _range(expr: str, value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):  # dates
        cmp = value[:len(expr.lstrip("<>="))]
    else:
        cmp = value
    conv = (lambda s: s) if isinstance(value, str) else (lambda s: float(s))
    if ".." in expr:
        lo, hi = expr.split("..", 1)
        return (lo in ("*", "") or cmp >= conv(lo)) and (hi in ("*", "") or cmp <= conv(hi))
    for op in (">=", "<=", ">", "<"):
        if expr.startswith(op):
            x = conv(expr[len(op):])
            return {"<": cmp < x, ">": cmp > x, ">=": cmp >= x, "<=": cmp <= x}[op]
    return cmp == conv(expr)


class GitHubReplay(LocalServer):
    def __init__(self, repos=(), *, max_per_page: int = 100, search_cap: int = 1000):
        self.max_per_page, self.search_cap = max_per_page, search_cap
        self._repos: dict[str, dict] = {}
        self._files: dict[str, dict[str, bytes]] = {}
        self._moved: dict[str, str] = {}
        self._fail: list[dict] = []
        self._lock = threading.Lock()
        self._clock = 0.0  # the latest push
        self.requests: list[dict] = []
        for r in repos:
            self.add_repo(r)

    # ----------------------------------------------------------------- lifecycle
    def handler(self):
        replay = self

        class H(QuietHandler):
            def do_GET(self):
                replay._serve(self)

        return H

    # ----------------------------------------------------------------- data
    def add_repo(self, repo, files: dict | None = None, **overrides) -> dict:
        data = repo_json(repo, **overrides) if isinstance(repo, str) else copy.deepcopy(repo)
        key = data["full_name"].lower()
        with self._lock:
            self._repos[key] = data
            self._files.setdefault(key, {})
            self._moved.pop(key, None)
            for path, content in (files or {}).items():
                self._files[key][path] = content.encode() if isinstance(content, str) else content
        return data

    def set_file(self, full_name: str, path: str, content) -> None:
        """A push that writes (or, with None, deletes) one file: as on GitHub, the repository's
        pushed_at and updated_at move on."""
        with self._lock:
            files = self._files.setdefault(full_name.lower(), {})
            if content is None:
                files.pop(path, None)
            else:
                files[path] = content.encode() if isinstance(content, str) else content
            repo = self._repos.get(full_name.lower())
            if repo is not None:
                self._clock = max(time.time(), self._clock + 1)  # strictly later, one second apart
                repo["pushed_at"] = repo["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                       time.gmtime(self._clock))

    def remove_repo(self, full_name: str) -> None:
        with self._lock:
            self._repos.pop(full_name.lower(), None)
            self._files.pop(full_name.lower(), None)

    def rename_repo(self, old: str, new: str) -> None:
        with self._lock:
            data = self._repos.pop(old.lower())
            files = self._files.pop(old.lower(), {})
            owner, name = new.split("/")
            data = {**data, "full_name": new, "name": name, "html_url": f"https://github.com/{new}"}
            self._repos[new.lower()] = data
            self._files[new.lower()] = files
            self._moved[old.lower()] = new.lower()

    def get_repo(self, full_name: str) -> dict:
        return self._repos[full_name.lower()]

    def fail_next(self, n: int, status: int = 500, headers: dict | None = None, body: dict | None = None,
                  path_prefix: str | None = None) -> None:
        with self._lock:
            self._fail.append({"n": n, "status": status, "headers": headers or {}, "body": body,
                               "prefix": path_prefix})

    def clear_failures(self) -> None:
        with self._lock:
            self._fail.clear()

    def count(self, path_prefix: str = "/") -> int:
        return sum(1 for r in self.requests if r["path"].startswith(path_prefix))

    def reset_log(self) -> None:
        self.requests.clear()

    # ----------------------------------------------------------------- HTTP
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        auth = h.headers.get("Authorization")
        self.requests.append({"method": "GET", "path": path, "query": query, "auth": auth})
        headers = {}
        try:
            failure = self._failure(path)
            if failure:
                raise _HTTPError(failure["status"], failure["body"] or {"message": "Server Error"}, failure["headers"])
            status, body, headers = self._route(path, query, auth, parts.query)
        except _HTTPError as e:
            status, body, headers = e.status, e.body, e.headers
        payload = json.dumps(body).encode()
        resource = "search" if path.startswith("/search/") else "core"
        limit = (30 if auth else 10) if resource == "search" else (5000 if auth else 60)
        h.send_response(status)
        out = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(payload)),
               "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit - 1),
               "X-RateLimit-Reset": str(int(time.time()) + 3600), "X-RateLimit-Used": "1",
               "X-RateLimit-Resource": resource, "X-GitHub-Media-Type": "github.v3; format=json"}
        out.update(headers)
        for k, v in out.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)

    def _failure(self, path: str) -> dict | None:
        with self._lock:
            for f in self._fail:
                if f["n"] > 0 and (f["prefix"] is None or path.startswith(f["prefix"])):
                    f["n"] -= 1
                    return f
        return None

    def _not_found(self, doc="repos/repos#get-a-repository"):
        return _HTTPError(404, {"message": "Not Found", "documentation_url": f"{_DOCS}/{doc}", "status": "404"})

    def _repo(self, owner: str, name: str) -> tuple[str, dict]:
        key = f"{owner}/{name}".lower()
        if key in self._moved:
            new = self._moved[key]
            rid = self._repos[new]["id"]
            raise _HTTPError(301, {"message": "Moved Permanently", "url": f"{self.url}/repositories/{rid}",
                                   "documentation_url": f"{_DOCS}/repos/repos#get-a-repository"},
                             {"Location": f"{self.url}/repositories/{rid}"})
        if key not in self._repos:
            raise self._not_found()
        return key, self._repos[key]

    def _api(self, data: dict) -> dict:
        out = copy.deepcopy(data)
        out["url"] = f"{self.url}/repos/{data['full_name']}"
        return out

    def _route(self, path: str, query: dict, auth, raw_qs: str):
        if path == "/rate_limit":
            core = {"limit": 5000 if auth else 60, "remaining": 4999 if auth else 59, "reset": int(time.time()) + 3600,
                    "used": 1}
            search = {"limit": 30 if auth else 10, "remaining": 29 if auth else 9, "reset": int(time.time()) + 60,
                      "used": 1}
            return 200, {"resources": {"core": core, "search": search, "code_search": search}, "rate": core}, {}
        m = re.fullmatch(r"/repositories/(\d+)", path)
        if m:
            for data in self._repos.values():
                if data["id"] == int(m.group(1)):
                    return 200, self._api(data), {}
            raise self._not_found()
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)", path)
        if m:
            _, data = self._repo(m.group(1), m.group(2))
            return 200, self._api(data), {}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/readme", path)
        if m:
            key, data = self._repo(m.group(1), m.group(2))
            for p in sorted(self._files.get(key, {})):
                if "/" not in p and p.lower().split(".")[0] == "readme":
                    return 200, self._content(data, p, self._files[key][p]), {}
            raise self._not_found("repos/contents#get-a-repository-readme")
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/contents/?(.*)", path)
        if m:
            key, data = self._repo(m.group(1), m.group(2))
            files = self._files.get(key, {})
            target = m.group(3).strip("/")
            if target in files:
                return 200, self._content(data, target, files[target]), {}
            prefix = target + "/" if target else ""
            entries = {}
            for p, content in files.items():
                if p.startswith(prefix):
                    rest = p[len(prefix):]
                    if "/" in rest:
                        d = rest.split("/")[0]
                        entries[d] = self._entry(data, prefix + d, None)
                    else:
                        entries[rest] = self._entry(data, p, content)
            if not entries:
                raise self._not_found("repos/contents#get-repository-content")
            return 200, [entries[k] for k in sorted(entries)], {}
        if path == "/search/repositories":
            return self._search(query, raw_qs, self._match_repos, auth)
        if path == "/search/code":
            if not auth:
                raise _HTTPError(401, {"message": "Requires authentication", "errors": [
                    {"message": "Must be authenticated to access the code search API", "resource": "Search",
                     "field": "q", "code": "invalid"}], "documentation_url": f"{_DOCS}/search/search#search-code"})
            return self._search(query, raw_qs, self._match_code, auth)
        raise self._not_found("")

    def _entry(self, repo: dict, path: str, content: bytes | None) -> dict:
        full = repo["full_name"]
        kind = "dir" if content is None else "file"
        sha = _blob_sha(content) if content is not None else hashlib.sha1(path.encode()).hexdigest()
        api = f"{self.url}/repos/{full}/contents/{quote(path)}?ref={repo['default_branch']}"
        html = f"https://github.com/{full}/{'blob' if kind == 'file' else 'tree'}/{repo['default_branch']}/{path}"
        git = f"{self.url}/repos/{full}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
        return {"name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": len(content or b""), "url": api,
                "html_url": html, "git_url": git,
                "download_url": f"https://raw.githubusercontent.com/{full}/{repo['default_branch']}/{path}"
                if kind == "file" else None, "type": kind, "_links": {"self": api, "git": git, "html": html}}

    def _content(self, repo: dict, path: str, content: bytes) -> dict:
        b64 = base64.b64encode(content).decode()
        wrapped = "\n".join(b64[i:i + 60] for i in range(0, len(b64), 60)) + "\n"
        return {**self._entry(repo, path, content), "content": wrapped, "encoding": "base64"}

    # ----------------------------------------------------------------- search
    def _parse(self, q: str, known: set) -> tuple[list[str], list[tuple[bool, str, str]]]:
        quals, words = [], []
        for neg, key, value in _QUALIFIER.findall(q):
            if key.lower() not in known:
                raise _HTTPError(422, {"message": "Validation Failed", "errors": [
                    {"resource": "Search", "field": "q", "code": "invalid"}],
                    "documentation_url": f"{_DOCS}/search/search"})
            quals.append((bool(neg), key.lower(), value.strip('"').lower()))
        rest = _QUALIFIER.sub(" ", q)
        for phrase in re.findall(r'"([^"]*)"|(\S+)', rest):
            w = (phrase[0] or phrase[1]).lower()
            if w and w not in ("and", "or"):
                words.append(w)
        return words, quals

    def _match_repos(self, q: str) -> list[tuple[float, dict]]:
        words, quals = self._parse(q, {"topic", "language", "stars", "forks", "license", "archived", "fork", "user",
                                       "org", "in", "pushed", "created", "is"})
        where = next((v.split(",") for n, k, v in quals if k == "in"), ["name", "description", "topics"])
        fork_mode = next((v for n, k, v in quals if k == "fork"), "false")
        out = []
        for key, r in self._repos.items():
            ok = True
            for neg, k, v in quals:
                if k == "topic":
                    hit = v in [t.lower() for t in r.get("topics") or []]
                elif k == "language":
                    hit = (r.get("language") or "").lower() == v
                elif k in ("stars", "forks"):
                    hit = _range(v, r["stargazers_count" if k == "stars" else "forks_count"])
                elif k == "license":
                    hit = (r.get("license") or {}).get("key") == v
                elif k == "archived":
                    hit = bool(r.get("archived")) == (v == "true")
                elif k in ("user", "org"):
                    hit = r["owner"]["login"].lower() == v
                elif k in ("pushed", "created"):
                    hit = _range(v, (r.get(f"{k}_at") or "")[:10])
                else:
                    hit = True
                ok = ok and (hit != neg)
            if fork_mode == "only":
                ok = ok and r.get("fork")
            elif fork_mode != "true":
                ok = ok and not r.get("fork")
            if not ok:
                continue
            texts = []
            if "name" in where:
                texts.append(r["full_name"].lower())
            if "description" in where:
                texts.append((r.get("description") or "").lower())
            if "topics" in where:
                texts.append(" ".join(r.get("topics") or []).lower())
            if "readme" in where:
                texts.extend(c.decode("utf-8", "replace").lower() for p, c in self._files.get(key, {}).items()
                             if p.lower().startswith("readme"))
            blob = " ".join(texts)
            if all(w in blob for w in words):
                score = float(sum(blob.count(w) for w in words)) + 1.0
                out.append((score, self._api(r)))
        return out

    def _match_code(self, q: str) -> list[tuple[float, dict]]:
        words, quals = self._parse(q, {"filename", "path", "extension", "language", "repo", "user", "org", "in"})
        out = []
        for key, files in self._files.items():
            r = self._repos.get(key)
            if r is None:
                continue
            for path, content in sorted(files.items()):
                ok = True
                for neg, k, v in quals:
                    name = path.rsplit("/", 1)[-1].lower()
                    hit = {"filename": name == v, "path": path.lower().startswith(v.strip("/")),
                           "extension": name.endswith("." + v), "language": v != "python" or name.endswith(".py"),
                           "repo": key == v, "user": key.split("/")[0] == v, "org": key.split("/")[0] == v,
                           "in": True}[k]
                    ok = ok and (hit != neg)
                text = content.decode("utf-8", "replace").lower()
                if ok and all(w in text for w in words):
                    item = {k: v for k, v in self._entry(r, path, content).items()
                            if k in ("name", "path", "sha", "url", "git_url", "html_url")}
                    short = {k: r[k] for k in ("id", "node_id", "name", "full_name", "private", "owner", "html_url",
                                                 "description", "fork")}
                    short["url"] = f"{self.url}/repos/{r['full_name']}"
                    out.append((1.0, {**item, "repository": short, "score": 1.0}))
        return out

    def _search(self, query: dict, raw_qs: str, match, auth):
        q = (query.get("q") or [""])[0].strip()
        if not q:
            raise _HTTPError(422, {"message": "Validation Failed", "errors": [
                {"resource": "Search", "field": "q", "code": "missing"}], "documentation_url": f"{_DOCS}/search"})
        with self._lock:
            hits = match(q)
        sort, order = (query.get("sort") or [None])[0], (query.get("order") or ["desc"])[0]
        if sort in ("stars", "forks", "updated"):
            field = {"stars": "stargazers_count", "forks": "forks_count", "updated": "updated_at"}[sort]
            def value(h):  # a hostile record's count may not be a number
                v = h[1].get(field)
                return v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else 0

            hits.sort(key=lambda h: (str(value(h)) if sort == "updated" else _num(value(h)),
                                     h[1].get("full_name", "")), reverse=(order != "asc"))
        else:
            hits.sort(key=lambda h: (-h[0], -(h[1].get("stargazers_count") or 0), h[1].get("full_name") or h[1]["path"]))
        per_page = max(1, min(int((query.get("per_page") or [30])[0]), self.max_per_page))
        page = max(1, int((query.get("page") or [1])[0]))
        start = (page - 1) * per_page
        reachable = min(len(hits), self.search_cap)
        if start >= self.search_cap and hits:
            raise _HTTPError(422, {"message": "Only the first 1000 search results are available",
                                   "documentation_url": f"{_DOCS}/search/search"})
        items = [dict(h[1], score=h[0]) if "full_name" in h[1] else h[1]
                 for h in hits[start:min(start + per_page, reachable)]]
        last = max(1, -(-reachable // per_page))
        links = []
        base = {k: v[0] for k, v in query.items()}

        def url(p):
            return f"{self.url}{'/search/repositories' if match == self._match_repos else '/search/code'}?" + \
                urlencode({**base, "page": p})
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links = [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"'] + links
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, {"total_count": len(hits), "incomplete_results": False, "items": items}, headers
