"""Reading a catalog file in tests, independently of indexer.store."""

import collections
import re
import sqlite3


def rows(db, sql, *args) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


# columns that hold when a row was written or seen: they differ between any two runs; and
# record_hash, a digest of the values compared here, the URLs with the endpoint's port among them
VOLATILE = {"first_seen", "last_seen", "changed_at", "fetched_at", "seen_at", "record_hash"}
_LOCAL = re.compile(r"http://127\.0\.0\.1:\d+")
TABLES = ("models", "model_datasets", "metrics", "model_papers", "model_repos", "model_relations", "model_aliases",
          "papers", "paper_repos", "repos", "datasets")



def catalog_dump(db) -> dict[str, list]:
    """Every row of every catalog table, without the when-columns (removed_at kept as set/unset),
    sorted: equal dumps mean the same rows, the same values and the same number of each. URLs
    name the endpoint the client used (the proxy, or the replay itself): they are made one."""
    conn = sqlite3.connect(db)
    try:
        out = {}
        for table in TABLES:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])") if r[1] not in VOLATILE]
            sel = ", ".join("removed_at IS NOT NULL" if c == "removed_at" else f"[{c}]" for c in cols)
            rows = [tuple(_LOCAL.sub("http://replay", v) if isinstance(v, str) else v for v in row)
                    for row in conn.execute(f"SELECT {sel} FROM [{table}]")]
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def assert_same_catalog(got: dict, want: dict, what: str) -> None:
    """Equal dumps, or an error that shows the first rows that differ, table by table."""
    problems = []
    for table in want:
        extra = collections.Counter(got[table]) - collections.Counter(want[table])
        lost = collections.Counter(want[table]) - collections.Counter(got[table])
        if extra or lost:
            problems.append(f"{table}: {sum(lost.values())} row(s) lost or changed, e.g. {list(lost)[:2]}; "
                            f"{sum(extra.values())} extra or changed, e.g. {list(extra)[:2]}")
    assert not problems, f"{what}: the catalog differs from the clean run:\n" + "\n".join(problems)
