"""An in-memory arXiv query API (export.arxiv.org/api/query) for tests that run the real `arxiv`
client offline.

    with ArxivReplay([paper("2010.11929", title="...")]) as ax:
        client = arxiv.Client(delay_seconds=0); client.query_url_format = ax.url + "?{}"

Atom in the recorded shape (../../../shared/fixtures-raw/arxiv): opensearch totals, entries with
id http://arxiv.org/abs/<id>v<N>, arxiv:primary_category, arxiv:comment, arxiv:journal_ref,
arxiv:doi, alternate / pdf / doi links. id_list: versionless ids give the latest version, unknown
well-formed ids are absent, a malformed id is HTTP 400 with arXiv's error feed. search_query:
ti: au: abs: co: jr: cat: id: all: with AND, OR, ANDNOT, parentheses, quoted phrases and
submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]. The intersection when both are given.
"""

from __future__ import annotations

import copy
import datetime
import re
import threading
import time
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from .server import LocalServer, QuietHandler

__all__ = ["ArxivReplay", "paper"]

_NEW = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
_OLD = re.compile(r"^([a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")


def paper(arxiv_id: str, **fields) -> dict:
    p = {"id": arxiv_id, "version": 1, "title": f"A paper {arxiv_id}", "authors": ["Ada Lovelace"],
         "abstract": "We study things.", "published": "2020-01-01T00:00:00Z", "updated": None,
         "categories": ["cs.LG"], "primary_category": None, "doi": None, "comment": None, "journal_ref": None}
    p.update(fields)
    p["updated"] = p["updated"] or p["published"]
    p["primary_category"] = p["primary_category"] or p["categories"][0]
    return p


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Bad(Exception):
    def __init__(self, ident: str, message: str):
        self.ident, self.message = ident, message


_TOKEN = re.compile(r'\(|\)|"[^"]*"|\w+:"[^"]*"|\w+:\[[^\]]*\]|[^\s()]+')


class ArxivReplay(LocalServer):
    url_path = "/api/query"

    def __init__(self, papers=(), *, max_results_cap: int = 2000):
        self.max_results_cap = max_results_cap
        self._papers: dict[str, dict] = {}
        self._versions: dict[str, dict[int, dict]] = {}
        self._fail: list[list] = []
        self._lock = threading.Lock()
        self.requests: list[dict] = []
        self.times: list[float] = []  # when each request arrived (time.monotonic)
        for p in papers:
            self.add(p)

    def handler(self):
        replay = self

        class H(QuietHandler):
            def do_GET(self):
                replay._serve(self, urlsplit(self.path).query)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                replay._serve(self, self.rfile.read(n).decode())

        return H

    # ----------------------------------------------------------------- data
    def add(self, p: dict) -> None:
        p = copy.deepcopy(p)
        with self._lock:
            self._papers[p["id"]] = p
            self._versions.setdefault(p["id"], {})[p["version"]] = p

    def get(self, arxiv_id: str) -> dict:
        return self._papers[arxiv_id]

    def update(self, arxiv_id: str, **fields) -> None:
        old = self._papers[arxiv_id]
        new = {**old, **fields, "version": fields.get("version", old["version"] + 1)}
        new["updated"] = fields.get("updated") or _now()
        self.add(new)

    def remove(self, arxiv_id: str) -> None:
        with self._lock:
            self._papers.pop(arxiv_id, None)
            self._versions.pop(arxiv_id, None)

    def fail_next(self, n: int, status: int = 503, body: bytes | None = None) -> None:
        with self._lock:
            self._fail.append([n, status, body])

    def count(self) -> int:
        return len(self.requests)

    def reset_log(self) -> None:
        self.requests.clear()

    # ----------------------------------------------------------------- HTTP
    def _serve(self, h, qs: str) -> None:
        q = {k: v[0] for k, v in parse_qs(qs, keep_blank_values=True).items()}
        self.requests.append(q)
        self.times.append(time.monotonic())
        failure = None
        with self._lock:
            for f in self._fail:
                if f[0] > 0:
                    f[0] -= 1
                    failure = f
                    break
        if failure:
            body = failure[2] if failure[2] is not None else b"<html><body>Service Unavailable</body></html>"
            status, ctype = failure[1], "text/html"
        else:
            try:
                status, body = 200, self._query(q, qs)
            except _Bad as e:
                status, body = 400, self._error_feed(qs, e)
            ctype = "application/atom+xml; charset=utf-8"
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _lookup(self, ident: str) -> dict | None:
        m = _NEW.match(ident) or _OLD.match(ident)
        if not m:
            raise _Bad(ident, f"incorrect id format for {ident}")
        base, version = m.group(1), m.group(2)
        versions = self._versions.get(base)
        if not versions:
            return None
        if version is None:
            return self._papers[base]
        return versions.get(int(version))

    def _query(self, q: dict, qs: str) -> bytes:
        ids = [i.strip() for i in (q.get("id_list") or "").split(",") if i.strip()]
        search = (q.get("search_query") or "").strip()
        start = int(q.get("start") or 0)
        max_results = min(int(q.get("max_results") or 10), self.max_results_cap)
        with self._lock:
            if ids:
                found = [p for p in (self._lookup(i) for i in ids) if p]
                if search:
                    pred = self._parse(search)
                    found = [p for p in found if pred(p)]
            elif search:
                pred = self._parse(search)
                found = [p for p in self._papers.values() if pred(p)]
                key = {"lastUpdatedDate": "updated", "submittedDate": "published"}.get(q.get("sortBy") or "")
                if key:
                    found.sort(key=lambda p: (p[key], p["id"]), reverse=(q.get("sortOrder") or "descending") == "descending")
                else:
                    found.sort(key=lambda p: p["id"])
            else:
                found = []
        page = found[start:start + max_results]
        return self._feed(qs, page, len(found), start, max_results)

    # ----------------------------------------------------------------- search_query
    def _parse(self, text: str):
        tokens = _TOKEN.findall(text)
        pos = [0]

        def peek():
            return tokens[pos[0]] if pos[0] < len(tokens) else None

        def take():
            pos[0] += 1
            return tokens[pos[0] - 1]

        def term():
            tok = take() if peek() is not None else None
            if tok is None:
                raise _Bad(text, f"malformed query {text}")
            if tok == "(":
                e = expr()
                if take() != ")":
                    raise _Bad(text, f"malformed query {text}")
                return e
            return self.leaf(tok)

        def expr():
            left = term()
            while peek() in ("AND", "OR", "ANDNOT"):
                op = take()
                right = term()
                left = (lambda a, b, op: (lambda p: a(p) and b(p)) if op == "AND" else
                        (lambda p: a(p) or b(p)) if op == "OR" else (lambda p: a(p) and not b(p)))(left, right, op)
            return left

        e = expr()
        if peek() is not None:
            raise _Bad(text, f"malformed query {text}")
        return e

    @staticmethod
    def _field(p: dict, field: str) -> str:
        authors = " ".join(a if isinstance(a, str) else a["name"] for a in p["authors"])
        return {"ti": p["title"], "au": authors, "abs": p["abstract"], "co": p.get("comment") or "",
                "jr": p.get("journal_ref") or "", "id": p["id"],
                "all": " ".join([p["title"], authors, p["abstract"], p.get("comment") or ""])}[field].lower()

    def _leaf(self, tok: str):
        return self.leaf(tok)

    def leaf(self, tok: str):  # noqa: D401 - a predicate for one field:value
        m = re.match(r'(\w+):(.*)', tok)
        field, value = (m.group(1), m.group(2)) if m else ("all", tok)
        value = value.strip('"')
        if field in ("submittedDate", "lastUpdatedDate"):
            r = re.fullmatch(r"\[(\d{8,14}) TO (\d{8,14})\]", value)
            if not r:
                raise _Bad(tok, f"malformed date range {value}")
            lo, hi = r.group(1), r.group(2)
            key = "published" if field == "submittedDate" else "updated"
            return lambda p: lo <= re.sub(r"\D", "", p[key])[:len(lo)] and re.sub(r"\D", "", p[key])[:len(hi)] <= hi
        if field == "cat":
            return lambda p: any(c.lower() == value.lower() or c.lower().startswith(value.lower() + ".")
                                 for c in p["categories"])
        if field not in ("ti", "au", "abs", "co", "jr", "id", "all", "rn"):
            raise _Bad(tok, f"unknown field {field}")
        if field == "rn":
            return lambda p: False
        words = value.lower()
        return lambda p: words in self._field(p, field)

    # ----------------------------------------------------------------- Atom
    def _head(self, qs: str, total: int, start: int, per_page: int) -> list[str]:
        title = escape(f"arXiv Query: {qs}")
        return ["<?xml version='1.0' encoding='UTF-8'?>",
                '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
                'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">',
                "  <id>https://arxiv.org/api/replay</id>", f"  <title>{title}</title>", f"  <updated>{_now()}</updated>",
                f'  <link href="https://arxiv.org/api/query?{escape(qs)}" type="application/atom+xml"/>',
                f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>",
                f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
                f"  <opensearch:startIndex>{start}</opensearch:startIndex>"]

    def _feed(self, qs: str, papers: list[dict], total: int, start: int, per_page: int) -> bytes:
        out = self._head(qs, total, start, per_page)
        for p in papers:
            out += self._entry(p)
        out.append("</feed>\n")
        return "\n".join(out).encode("utf-8")

    def feed_entry(self, arxiv_id: str) -> bytes:
        """The <entry> of a stored paper, as the feed carries it."""
        return "\n".join(self._entry(self.get(arxiv_id))).encode("utf-8")

    @staticmethod
    def _entry(p: dict) -> list[str]:
        vid = f"{p['id']}v{p['version']}"
        out = ["  <entry>", f"    <id>http://arxiv.org/abs/{vid}</id>",
                f"    <title>{escape(p['title'])}</title>", f"    <updated>{p['updated']}</updated>",
                f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
                f'    <link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>']
        if p.get("doi"):
            out.append(f'    <link href="https://doi.org/{escape(p["doi"])}" rel="related" title="doi"/>')
        out += [f"    <summary>{escape(p['abstract'])}</summary>"]
        for c in p["categories"]:
            out.append(f'    <category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>')
        out += [f"    <published>{p['published']}</published>"]
        if p.get("comment"):
            out.append(f"    <arxiv:comment>{escape(p['comment'])}</arxiv:comment>")
        if p.get("journal_ref"):
            out.append(f"    <arxiv:journal_ref>{escape(p['journal_ref'])}</arxiv:journal_ref>")
        if p.get("doi"):
            out.append(f"    <arxiv:doi>{escape(p['doi'])}</arxiv:doi>")
        out.append(f'    <arxiv:primary_category term="{escape(p["primary_category"])}"/>')
        for a in p["authors"]:
            name, aff = (a, None) if isinstance(a, str) else (a["name"], a.get("affiliation"))
            out.append("    <author>")
            out.append(f"      <name>{escape(name)}</name>")
            if aff:
                out.append(f"      <arxiv:affiliation>{escape(aff)}</arxiv:affiliation>")
            out.append("    </author>")
        out.append("  </entry>")
        return out

    def _error_feed(self, qs: str, e: _Bad) -> bytes:
        out = self._head(qs, 1, 0, 1)
        anchor = re.sub(r"\W+", "_", e.message)
        out += ["  <entry>", f"    <id>http://arxiv.org/api/errors#{escape(anchor)}</id>", "    <title>Error</title>",
                f"    <summary>{escape(e.message)}</summary>", f"    <updated>{_now()}</updated>",
                f'    <link href="http://arxiv.org/api/errors#{escape(anchor)}" rel="alternate" type="text/html"/>',
                "    <author>", "      <name>arXiv api core</name>", "    </author>", "  </entry>", "</feed>\n"]
        return "\n".join(out).encode("utf-8")
