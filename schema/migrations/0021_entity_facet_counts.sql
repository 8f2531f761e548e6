-- Facet counts for the distinct models (model_entities), as 0017 keeps them for the models: how
-- many entities have each combination of task, sources and open license. model_entities' facets
-- and its count of a page's rows read them when the page's filters are equalities on those
-- columns (datasette_plugin/counted.py): on 1M models `model_entities?sources=hf` counted a
-- million entities three times over (0.8 s). Kept by the writer with the entities it changes
-- (store/entities.py), rebuilt whole with them.
CREATE TABLE entity_facet_counts (
    key      TEXT PRIMARY KEY,   -- json_array(task, sources, is_open): NULL stays distinct from any text
    task     TEXT,
    sources  TEXT,
    is_open  INTEGER,
    n        INTEGER NOT NULL
);
INSERT INTO entity_facet_counts (key, task, sources, is_open, n)
SELECT json_array(task, sources, is_open), task, sources, is_open, count(*)
FROM entities GROUP BY task, sources, is_open;
-- A filtered page of distinct models walks its filter's index in the page's default order (most
-- ids first) and stops at the page's rows: on 1M models `?sources=hf` read and sorted every match.
DROP INDEX IF EXISTS idx_entities_task;
DROP INDEX IF EXISTS idx_entities_sources;
DROP INDEX IF EXISTS idx_entities_is_open;
CREATE INDEX idx_entities_task ON entities (task, n_ids);
CREATE INDEX idx_entities_sources ON entities (sources, n_ids);
CREATE INDEX idx_entities_is_open ON entities (is_open, n_ids);
