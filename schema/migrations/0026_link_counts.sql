-- Row counts of the catalog's link tables, per combination of the columns their pages facet on
-- (issue #30): model_datasets (1.4M rows at 2.3M models), metrics, model_relations (2.1M) and
-- model_papers counted every row for each facet and for the page's own count (120 ms a facet,
-- 0.3 to 0.45 s a page). The pages read these instead (datasette_plugin/counted.py's
-- COUNTED_TABLES), as the model pages read facet_counts. key: the combination as a JSON array.
-- Kept by triggers; the writer writes these tables with INSERT OR REPLACE, whose replaced row
-- fires no DELETE trigger: each BEFORE INSERT trigger takes back the row its insert replaces.
-- A first load drops and remakes them with the facet counts (store/facets.py).
CREATE TABLE model_datasets_counts (
    key          TEXT PRIMARY KEY,
    dataset_id   TEXT,
    role         TEXT,
    source       TEXT,
    n            INTEGER NOT NULL
);
CREATE TRIGGER trg_model_datasets_rows_replace BEFORE INSERT ON model_datasets BEGIN
    UPDATE model_datasets_counts SET n = n - 1 WHERE key = (SELECT json_array(x.dataset_id, x.role, x.source) FROM model_datasets x WHERE x.model_id = new.model_id AND x.dataset_id = new.dataset_id);
END;
CREATE TRIGGER trg_model_datasets_rows_insert AFTER INSERT ON model_datasets BEGIN
    INSERT INTO model_datasets_counts (key, dataset_id, role, source, n) VALUES (json_array(new.dataset_id, new.role, new.source), new.dataset_id, new.role, new.source, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER trg_model_datasets_rows_delete AFTER DELETE ON model_datasets BEGIN
    UPDATE model_datasets_counts SET n = n - 1 WHERE key = json_array(old.dataset_id, old.role, old.source);
END;
CREATE TRIGGER trg_model_datasets_rows_update AFTER UPDATE ON model_datasets BEGIN
    UPDATE model_datasets_counts SET n = n - 1 WHERE key = json_array(old.dataset_id, old.role, old.source);
    INSERT INTO model_datasets_counts (key, dataset_id, role, source, n) VALUES (json_array(new.dataset_id, new.role, new.source), new.dataset_id, new.role, new.source, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
INSERT INTO model_datasets_counts (key, dataset_id, role, source, n) SELECT json_array(dataset_id, role, source), dataset_id, role, source, count(*) FROM model_datasets GROUP BY dataset_id, role, source;
CREATE TABLE metrics_counts (
    key          TEXT PRIMARY KEY,
    dataset_id   TEXT,
    metric       TEXT,
    source       TEXT,
    n            INTEGER NOT NULL
);
CREATE TRIGGER trg_metrics_rows_replace BEFORE INSERT ON metrics BEGIN
    UPDATE metrics_counts SET n = n - 1 WHERE key = (SELECT json_array(x.dataset_id, x.metric, x.source) FROM metrics x WHERE x.model_id = new.model_id AND x.source = new.source AND x.dataset_raw = new.dataset_raw AND x.metric_raw = new.metric_raw);
END;
CREATE TRIGGER trg_metrics_rows_insert AFTER INSERT ON metrics BEGIN
    INSERT INTO metrics_counts (key, dataset_id, metric, source, n) VALUES (json_array(new.dataset_id, new.metric, new.source), new.dataset_id, new.metric, new.source, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER trg_metrics_rows_delete AFTER DELETE ON metrics BEGIN
    UPDATE metrics_counts SET n = n - 1 WHERE key = json_array(old.dataset_id, old.metric, old.source);
END;
CREATE TRIGGER trg_metrics_rows_update AFTER UPDATE ON metrics BEGIN
    UPDATE metrics_counts SET n = n - 1 WHERE key = json_array(old.dataset_id, old.metric, old.source);
    INSERT INTO metrics_counts (key, dataset_id, metric, source, n) VALUES (json_array(new.dataset_id, new.metric, new.source), new.dataset_id, new.metric, new.source, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
INSERT INTO metrics_counts (key, dataset_id, metric, source, n) SELECT json_array(dataset_id, metric, source), dataset_id, metric, source, count(*) FROM metrics GROUP BY dataset_id, metric, source;
CREATE TABLE model_relations_counts (
    key          TEXT PRIMARY KEY,
    relation     TEXT,
    n            INTEGER NOT NULL
);
CREATE TRIGGER trg_model_relations_rows_replace BEFORE INSERT ON model_relations BEGIN
    UPDATE model_relations_counts SET n = n - 1 WHERE key = (SELECT json_array(x.relation) FROM model_relations x WHERE x.model_id = new.model_id AND x.relation = new.relation AND x.related_id = new.related_id);
END;
CREATE TRIGGER trg_model_relations_rows_insert AFTER INSERT ON model_relations BEGIN
    INSERT INTO model_relations_counts (key, relation, n) VALUES (json_array(new.relation), new.relation, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER trg_model_relations_rows_delete AFTER DELETE ON model_relations BEGIN
    UPDATE model_relations_counts SET n = n - 1 WHERE key = json_array(old.relation);
END;
CREATE TRIGGER trg_model_relations_rows_update AFTER UPDATE ON model_relations BEGIN
    UPDATE model_relations_counts SET n = n - 1 WHERE key = json_array(old.relation);
    INSERT INTO model_relations_counts (key, relation, n) VALUES (json_array(new.relation), new.relation, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
INSERT INTO model_relations_counts (key, relation, n) SELECT json_array(relation), relation, count(*) FROM model_relations GROUP BY relation;
CREATE TABLE model_papers_counts (
    key          TEXT PRIMARY KEY,
    source       TEXT,
    n            INTEGER NOT NULL
);
CREATE TRIGGER trg_model_papers_rows_replace BEFORE INSERT ON model_papers BEGIN
    UPDATE model_papers_counts SET n = n - 1 WHERE key = (SELECT json_array(x.source) FROM model_papers x WHERE x.model_id = new.model_id AND x.paper_id = new.paper_id);
END;
CREATE TRIGGER trg_model_papers_rows_insert AFTER INSERT ON model_papers BEGIN
    INSERT INTO model_papers_counts (key, source, n) VALUES (json_array(new.source), new.source, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER trg_model_papers_rows_delete AFTER DELETE ON model_papers BEGIN
    UPDATE model_papers_counts SET n = n - 1 WHERE key = json_array(old.source);
END;
CREATE TRIGGER trg_model_papers_rows_update AFTER UPDATE ON model_papers BEGIN
    UPDATE model_papers_counts SET n = n - 1 WHERE key = json_array(old.source);
    INSERT INTO model_papers_counts (key, source, n) VALUES (json_array(new.source), new.source, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
END;
INSERT INTO model_papers_counts (key, source, n) SELECT json_array(source), source, count(*) FROM model_papers GROUP BY source;
