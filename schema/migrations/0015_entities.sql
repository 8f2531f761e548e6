-- One row per distinct model (entity) that has a live row (issue #30, step 3): the same weights
-- seen in several sources are one entity, with all its ids. Kept by the writer for the entities
-- whose rows it wrote, renamed or removed (store/entities.py); a first load that deferred the
-- models indexes rebuilds it whole at its end. model_entities reads it.
CREATE TABLE entities (
    entity         TEXT PRIMARY KEY,   -- the entity's id (the catalog id of its primary row)
    n_ids          INTEGER NOT NULL,   -- its live catalog ids
    ids            TEXT NOT NULL,      -- JSON array of them, sorted
    sources        TEXT,               -- the sources that list it, comma-separated, sorted
    task           TEXT,
    num_params     INTEGER,
    size_bytes     INTEGER,
    is_open        INTEGER,            -- 1: one of its rows has an open license
    imagenet_top1  REAL                -- the highest ImageNet-1K top-1 any of its rows reports
);
CREATE INDEX idx_entities_n_ids ON entities (n_ids);
CREATE INDEX idx_entities_task ON entities (task);
CREATE INDEX idx_entities_sources ON entities (sources);
CREATE INDEX idx_entities_is_open ON entities (is_open);
CREATE INDEX idx_entities_top1 ON entities (imagenet_top1);
