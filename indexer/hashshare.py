"""How far weight-hash evidence reaches (issue #33): of the Hub's live rows of a task, which the
hub source's hash-candidate rules would ask for their files' sha256, how many of those it has
read, how many joined another entity by the same bytes, and how many nights the rest would take
at the configured budgets. Run on a catalog crawled from the real Hub, it is the share of the
Hub's classifiers the rules cover; it reads the catalog only (no request).

The rules are the hub source's own (`indexer.sources.hf.size_rule`, `named_rule`), applied to
each row as if the Hub listed it again tonight.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

SOURCE = "hf"


@dataclass
class HashShare:
    task: str | None             # None: every task
    rows: int                    # the Hub's live rows of the task
    with_params: int             # ... whose parameter count the Hub gave (what the size rule needs)
    size_candidates: int         # ... the size rule makes candidates
    too_common: int              # ... left out: their count, library and task are shared by too many entities
    named_candidates: int        # ... the name rule makes candidates (and the size rule does not)
    candidates: int              # either rule
    read: int                    # candidates whose files were read at their commit (hashes held, or none held)
    owed_by_size: int            # size candidates not read yet
    owed_by_name: int            # name candidates not read yet
    hashed_rows: int             # rows that hold weight hashes or had their files read, candidates or not
    joined: int                  # rows in an entity the same weights hash joined
    hash_requests: int           # the night's budgets, from the settings
    named_hash_requests: int
    nights: int | None           # nights to ask every owed size candidate at hash_requests (None: never, 0)
    named_nights: int | None     # ... every owed name candidate at named_hash_requests

    @property
    def owed(self) -> int:
        return self.owed_by_size + self.owed_by_name

    @property
    def share(self) -> float | None:
        return self.candidates / self.rows if self.rows else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "owed": self.owed, "share": self.share}


def hash_share(catalog, task: str | None = "image-classification", settings: dict | None = None) -> HashShare:
    """Measure the hash-candidate rules on the catalog's Hub rows of `task` (None: all).
    settings: the hub source's resolved settings (its defaults where None)."""
    from .search import resolve_task
    from .sources.hf import HubSource, named_rule, size_rule
    from .store.evidence import EVIDENCE_HASH

    task = resolve_task(task) if task else None  # an alias, or a clear error naming `modelcat tasks`
    cfg = {k: default for k, (_, default, _) in HubSource.settings.items()}
    cfg.update({k: v for k, v in (settings or {}).items() if k in cfg and v is not None})
    named = catalog.hashed_names(except_source=SOURCE) if int(cfg["named_hash_requests"]) > 0 else {}
    joined_entities = catalog.entities_joined_by(EVIDENCE_HASH)
    n = Counter()
    owed_size = owed_named = 0
    rows = catalog.rows_for_hashes(SOURCE, task)
    for count, group in itertools.groupby(rows, key=lambda r: r[3]):
        # a row its bytes joined to another entity is counted as the entity it was before the
        # link (its own, equal to no other): the rules asked for it then, and the link must not
        # hide that they did
        group = [(mid, name, ("row", mid) if entity in joined_entities else entity, *rest, entity in joined_entities)
                 for mid, name, entity, *rest in group]
        # the entities of each (library, task) among the rows of this count: the size rule's peers
        entities: dict[tuple, set] = {}
        if count:
            for r in group:
                entities.setdefault((r[4], r[5]), set()).add(r[2])
        for mid, name, entity, _, library, _task_raw, hashed, joined in group:
            n["rows"] += 1
            n["hashed_rows"] += bool(hashed)
            n["joined"] += joined
            if not count:
                others = 0
            else:
                n["with_params"] += 1
                peers = entities[(library, _task_raw)]
                others = len(peers) - (entity in peers)  # not a set difference: groups can be large
            if size_rule(others):
                n["size_candidates"] += 1
                n["read"] += bool(hashed)
                owed_size += not hashed
            elif named and named_rule(name or mid, entity, named):
                n["named_candidates"] += 1
                n["read"] += bool(hashed)
                owed_named += not hashed
            if others and not size_rule(others):
                n["too_common"] += 1
    budget, named_budget = max(0, int(cfg["hash_requests"])), max(0, int(cfg["named_hash_requests"]))
    return HashShare(
        task=task, rows=n["rows"], with_params=n["with_params"], size_candidates=n["size_candidates"],
        too_common=n["too_common"], named_candidates=n["named_candidates"],
        candidates=n["size_candidates"] + n["named_candidates"], read=n["read"], owed_by_size=owed_size,
        owed_by_name=owed_named,
        hashed_rows=n["hashed_rows"], joined=n["joined"], hash_requests=budget, named_hash_requests=named_budget,
        nights=math.ceil(owed_size / budget) if budget else (0 if not owed_size else None),
        named_nights=math.ceil(owed_named / named_budget) if named_budget else (0 if not owed_named else None))
