-- Facet counts the pages read instead of counting rows (issue #30, step 4): how many models have
-- each combination of the values model_summary and models facet on (live or removed, source,
-- task, library, license, license family, loadable), and of those with each training dataset.
-- A page filtered on any of those columns reads its facets from a few thousand combinations
-- instead of a million rows (datasette_plugin.CountedFacet). Kept by triggers on models, so every
-- way a row comes, changes or goes keeps them; a first load that defers the models indexes drops
-- the triggers too (deferred_indexes' 'facet_counts') and rebuilds the counts at its end.
-- key: the combination as a JSON array (NULL stays distinct from any text).
CREATE TABLE facet_counts (
    key             TEXT PRIMARY KEY,
    live            INTEGER NOT NULL,   -- 1: removed_at IS NULL
    source          TEXT,
    task            TEXT,
    library         TEXT,
    license         TEXT,
    license_family  TEXT,
    loadable        INTEGER,
    n               INTEGER NOT NULL
);
CREATE TABLE facet_dataset_counts (
    key         TEXT NOT NULL,          -- facet_counts.key
    dataset_id  TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (key, dataset_id)
) WITHOUT ROWID;
CREATE TRIGGER trg_models_facets_insert AFTER INSERT ON models BEGIN
    INSERT INTO facet_counts (key, live, source, task, library, license, license_family, loadable, n)
    VALUES (json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
            new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
    INSERT INTO facet_dataset_counts (key, dataset_id, n)
    SELECT json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
           value, 1 FROM json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) WHERE type = 'text'
    ON CONFLICT (key, dataset_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER trg_models_facets_update AFTER UPDATE OF removed_at, source, task, library, license, license_family, loadable, dataset_ids ON models
WHEN old.removed_at IS NULL IS NOT (new.removed_at IS NULL) OR old.source IS NOT new.source OR old.task IS NOT new.task
  OR old.library IS NOT new.library OR old.license IS NOT new.license OR old.license_family IS NOT new.license_family
  OR old.loadable IS NOT new.loadable OR old.dataset_ids IS NOT new.dataset_ids
BEGIN
    UPDATE facet_counts SET n = n - 1
    WHERE key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable);
    UPDATE facet_dataset_counts SET n = n - (SELECT count(*) FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) j
                                            WHERE j.type = 'text' AND j.value = facet_dataset_counts.dataset_id)
    WHERE key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable)
      AND dataset_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text');
    DELETE FROM facet_counts WHERE n <= 0
      AND key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable);
    DELETE FROM facet_dataset_counts WHERE n <= 0
      AND key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable);
    INSERT INTO facet_counts (key, live, source, task, library, license, license_family, loadable, n)
    VALUES (json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
            new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
    INSERT INTO facet_dataset_counts (key, dataset_id, n)
    SELECT json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
           value, 1 FROM json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) WHERE type = 'text'
    ON CONFLICT (key, dataset_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER trg_models_facets_delete AFTER DELETE ON models BEGIN
    UPDATE facet_counts SET n = n - 1
    WHERE key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable);
    UPDATE facet_dataset_counts SET n = n - (SELECT count(*) FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) j
                                            WHERE j.type = 'text' AND j.value = facet_dataset_counts.dataset_id)
    WHERE key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable)
      AND dataset_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text');
    DELETE FROM facet_counts WHERE n <= 0
      AND key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable);
    DELETE FROM facet_dataset_counts WHERE n <= 0
      AND key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable);
END;
INSERT INTO facet_counts (key, live, source, task, library, license, license_family, loadable, n)
SELECT json_array(removed_at IS NULL, source, task, library, license, license_family, loadable),
       removed_at IS NULL, source, task, library, license, license_family, loadable, count(*)
FROM models GROUP BY removed_at IS NULL, source, task, library, license, license_family, loadable;
INSERT INTO facet_dataset_counts (key, dataset_id, n)
SELECT json_array(m.removed_at IS NULL, m.source, m.task, m.library, m.license, m.license_family, m.loadable), j.value, count(*)
FROM models m, json_each(CASE WHEN json_valid(m.dataset_ids) THEN m.dataset_ids END) j WHERE j.type = 'text' GROUP BY 1, 2;
