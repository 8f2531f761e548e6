-- A source's first full load into the catalog (the Hub's 2M models) drops the secondary indexes
-- the writer does not read and builds them once at its end: one sort per index instead of one
-- B-tree insert per row and index (scripts/bench.py, P1). The dropped ones are noted here, in the
-- same transaction, so a load killed midway leaves the catalog knowing what to rebuild: the
-- source's next run goes on with its load, any other refresh rebuilds them first.
CREATE TABLE deferred_indexes (
    name        TEXT PRIMARY KEY,
    sql         TEXT NOT NULL,
    source      TEXT NOT NULL,
    deferred_at TEXT NOT NULL
);
