"""PyTorch Hub model pages: markdown with YAML front matter (the pytorch/hub repository).

    ---
    title: ResNet
    summary: Deep residual networks pre-trained on ImageNet
    tags: [vision, scriptable]
    github-id: pytorch/vision
    ...
    ---
    model = torch.hub.load('pytorch/vision:v0.10.0', 'resnet18', pretrained=True)

Real pages have curly quotes, HTML comments, tabs and YAML that does not parse: the front matter
is read by YAML, then by YAML again after cleaning those up, then line by line. A page that still
yields no title and no repository raises PageError (the source reports and skips it).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..normalize import arxiv_ids

MAX_PAGE = 1_000_000


class PageError(ValueError):
    """The page has no usable front matter."""


_FRONT = re.compile(r"\A\s*(?:<!--.*?-->\s*)*---[ \t]*\n(?P<front>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CURLY = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " ", "\t": "  "})
_LINE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+$")
_HUB_LOAD = re.compile(
    r"torch\.hub\.load\(\s*(?:repo_or_dir\s*=\s*)?['\"](?P<repo>[A-Za-z0-9-]+/[A-Za-z0-9_.-]+)(?::(?P<ref>[\w./-]+))?['\"]"
    r"\s*,\s*(?:model\s*=\s*)?['\"](?P<name>[A-Za-z_][\w.-]*)['\"]"
)
_STR_KEYS = ("title", "summary", "category", "author", "github-link", "github-id", "accelerator",
             "demo-model-link", "image", "layout")


def _yaml(text: str) -> dict | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _scalar(value: str) -> Any:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    if value.startswith("[") and value.endswith("]"):
        return [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
    return value


def _lines(text: str) -> dict:
    """The last resort: `key: value` lines, flow lists, quotes stripped."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group("key")] = _scalar(m.group("value"))
    return out


def _clean(meta: dict) -> dict:
    out: dict[str, Any] = {}
    for key, value in meta.items():
        key = str(key).strip().lower()
        if key in _STR_KEYS:
            if value is None or isinstance(value, (dict, list)):
                continue
            value = str(value).translate(_CURLY).strip()
            if value:
                out[key] = value[:2000]
        elif key == "tags":
            if isinstance(value, str):
                value = [v for v in re.split(r"[,\s]+", value.strip("[]")) if v]
            if isinstance(value, list):
                out["tags"] = [str(v).strip().strip("'\"").lower() for v in value if str(v).strip()][:30]
        elif key == "order" and isinstance(value, (int, float)) and not isinstance(value, bool):
            out["order"] = value
    repo = out.get("github-id")
    if repo and not _REPO.match(repo):
        del out["github-id"]  # "TBD" or a URL: use github-link instead
    if "github-id" not in out and out.get("github-link"):
        m = re.search(r"github\.com/([A-Za-z0-9-]+/[A-Za-z0-9_.-]+)", out["github-link"])
        if m:
            out["github-id"] = m.group(1).removesuffix(".git")
    return out


def parse_page(text: str | bytes, name: str = "page") -> dict:
    """{"meta": {...}, "loads": [{"repo", "ref", "name"}], "arxiv": [...], "text": prose} for one page."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if len(text) > MAX_PAGE:
        raise PageError(f"{name}: {len(text)} characters, more than a page should be")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    m = _FRONT.match(text)
    if not m:
        raise PageError(f"{name}: no front matter (a --- block at the top)")
    front, body = m.group("front"), text[m.end():]
    meta = _yaml(front)
    if meta is None:
        meta = _yaml(_COMMENT.sub("", front).translate(_CURLY))
    if meta is None:
        meta = _lines(_COMMENT.sub("", front).translate(_CURLY))
    meta = _clean(meta or {})
    if not meta.get("title") and not meta.get("github-id"):
        raise PageError(f"{name}: the front matter names neither a title nor a repository")
    loads, seen = [], set()
    for hit in _HUB_LOAD.finditer(body):
        key = (hit.group("repo"), hit.group("name"))
        if key not in seen:
            seen.add(key)
            loads.append({"repo": hit.group("repo"), "ref": hit.group("ref"), "name": hit.group("name")})
    return {"meta": meta, "loads": loads, "arxiv": arxiv_ids(body, bare=False), "text": _prose(body)}


_CODE = re.compile(r"```.*?(?:```|\Z)", re.S)
_TAG = re.compile(r"<[^>]{0,500}>")


def _prose(body: str, limit: int = 4000) -> str:
    """The page's running text without code blocks, HTML and comments (for task words)."""
    text = _TAG.sub(" ", _CODE.sub(" ", _COMMENT.sub(" ", body)))
    return " ".join(text.split())[:limit]
