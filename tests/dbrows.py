"""Reading a catalog file in tests, independently of indexer.store."""

import sqlite3


def rows(db, sql, *args) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()
