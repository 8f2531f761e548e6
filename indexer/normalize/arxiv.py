"""arXiv identifiers found in messy text: 'arXiv:2010.11929v2', arxiv.org URLs, 'cs/0112017'."""

from __future__ import annotations

import re
from typing import Any

# New style (2007+): YYMM.NNNN or YYMM.NNNNN, optional version.
_NEW = r"(?P<new>(?:0[7-9]|[1-9]\d)(?:0[1-9]|1[0-2])\.\d{4,5})(?:v\d+)?"
# Old style (to 2007): archive[.SUBJ]/YYMMNNN, e.g. cs/0112017, math.GT/0309136, hep-th/9901001.
_OLD = r"(?P<old>[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/(?:9[1-9]|0[0-7])(?:0[1-9]|1[0-2])\d{3})(?:v\d+)?"

_PATTERNS = [
    # URLs: arxiv.org/abs/..., /pdf/...(.pdf), export.arxiv.org, alphaxiv, huggingface.co/papers/...
    re.compile(rf"(?:arxiv\.org|huggingface\.co/papers)/(?:abs/|pdf/|html/)?(?:{_NEW}|{_OLD})", re.I),
    # Prefixed: "arXiv:2010.11929", "arxiv 2010.11929", "arXiv: cs/0112017"
    re.compile(rf"arxiv[\s:=_-]*(?:{_NEW}|{_OLD})", re.I),
    # Bare new-style ids need word boundaries (not part of a version number or a longer number)
    re.compile(rf"(?<![\w.]){_NEW}(?![\w.]*\d)"),
]


def arxiv_ids(text: Any, *, bare: bool = True) -> list[str]:
    """Every arXiv id in `text`, without version, in order of first appearance.

    `bare=False` only accepts ids marked as arXiv (a URL or an "arXiv:" prefix): free prose has
    numbers like "2010.11929" that are not always papers, while a field such as timm's paper_ids
    is known to hold them.
    """
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        out: list[str] = []
        for item in text:
            out.extend(i for i in arxiv_ids(item, bare=bare) if i not in out)
        return out
    text = str(text)[:100_000]
    if not bare:
        low = text.lower()
        if "arxiv" not in low and "huggingface.co/papers" not in low:
            return []  # the marked forms all say one or the other: most texts stop here
    found: list[tuple[int, str]] = []
    for pattern in _PATTERNS if bare else _PATTERNS[:2]:
        for m in pattern.finditer(text):
            ident = m.group("new") or m.group("old")
            found.append((m.start(), ident))
    out = []
    for _, ident in sorted(found):
        if ident not in out:
            out.append(ident)
    return out
