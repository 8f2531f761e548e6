-- Pairs of training datasets counted per facet combination (issue #30): a page that picks a dataset
-- (`model_summary?source=hf&_dataset=imagenet-1k`) shows, in its Trained-on facet, which other
-- datasets its models name. Without these counts it read the list of each of the dataset's models
-- (130,000 rows for ImageNet on 2.3M models: 0.55 s, past the facet time limit on a cold cache);
-- from them it reads a few hundred rows. dataset_id = other_id is the dataset itself (its models:
-- facet_dataset_counts' n). Kept by the same triggers as facet_counts (remade here with the pairs
-- added; a first load drops and remakes them as before) and rebuilt with them.
CREATE TABLE facet_dataset_pairs (
    key         TEXT NOT NULL,          -- facet_counts.key
    dataset_id  TEXT NOT NULL,          -- the picked dataset
    other_id    TEXT NOT NULL,          -- a dataset its models name too (or itself)
    n           INTEGER NOT NULL,
    PRIMARY KEY (key, dataset_id, other_id)
) WITHOUT ROWID;
DROP TRIGGER IF EXISTS trg_models_facets_insert;
CREATE TRIGGER trg_models_facets_insert AFTER INSERT ON models BEGIN
    INSERT INTO facet_counts (key, live, source, task, library, license, license_family, loadable, n)
    VALUES (json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
            new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
    INSERT INTO facet_dataset_counts (key, dataset_id, n)
    SELECT json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
           value, 1 FROM json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) WHERE type = 'text'
    ON CONFLICT (key, dataset_id) DO UPDATE SET n = n + 1;
    INSERT INTO facet_dataset_pairs (key, dataset_id, other_id, n)
    SELECT json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable), a.value, b.value, 1
    FROM json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) a, json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) b WHERE a.type = 'text' AND b.type = 'text'
    ON CONFLICT (key, dataset_id, other_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER IF EXISTS trg_models_facets_update;
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
    UPDATE facet_dataset_pairs SET n = n - (SELECT count(*) FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) a, json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) b
                                            WHERE a.type = 'text' AND b.type = 'text' AND a.value = facet_dataset_pairs.dataset_id
                                              AND b.value = facet_dataset_pairs.other_id)
    WHERE key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable)
      AND dataset_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text')
      AND other_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text');
    DELETE FROM facet_dataset_pairs WHERE n <= 0 AND key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable)
      AND dataset_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text')
      AND other_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text');
    INSERT INTO facet_counts (key, live, source, task, library, license, license_family, loadable, n)
    VALUES (json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
            new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable, 1)
    ON CONFLICT (key) DO UPDATE SET n = n + 1;
    INSERT INTO facet_dataset_counts (key, dataset_id, n)
    SELECT json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable),
           value, 1 FROM json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) WHERE type = 'text'
    ON CONFLICT (key, dataset_id) DO UPDATE SET n = n + 1;
    INSERT INTO facet_dataset_pairs (key, dataset_id, other_id, n)
    SELECT json_array(new.removed_at IS NULL, new.source, new.task, new.library, new.license, new.license_family, new.loadable), a.value, b.value, 1
    FROM json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) a, json_each(CASE WHEN json_valid(new.dataset_ids) THEN new.dataset_ids END) b WHERE a.type = 'text' AND b.type = 'text'
    ON CONFLICT (key, dataset_id, other_id) DO UPDATE SET n = n + 1;
END;
DROP TRIGGER IF EXISTS trg_models_facets_delete;
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
    UPDATE facet_dataset_pairs SET n = n - (SELECT count(*) FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) a, json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) b
                                            WHERE a.type = 'text' AND b.type = 'text' AND a.value = facet_dataset_pairs.dataset_id
                                              AND b.value = facet_dataset_pairs.other_id)
    WHERE key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable)
      AND dataset_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text')
      AND other_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text');
    DELETE FROM facet_dataset_pairs WHERE n <= 0 AND key = json_array(old.removed_at IS NULL, old.source, old.task, old.library, old.license, old.license_family, old.loadable)
      AND dataset_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text')
      AND other_id IN (SELECT value FROM json_each(CASE WHEN json_valid(old.dataset_ids) THEN old.dataset_ids END) WHERE type = 'text');
END;
INSERT INTO facet_dataset_pairs (key, dataset_id, other_id, n)
SELECT json_array(m.removed_at IS NULL, m.source, m.task, m.library, m.license, m.license_family, m.loadable), a.value, b.value, count(*)
FROM models m, json_each(CASE WHEN json_valid(m.dataset_ids) THEN m.dataset_ids END) a, json_each(CASE WHEN json_valid(m.dataset_ids) THEN m.dataset_ids END) b
WHERE a.type = 'text' AND b.type = 'text' GROUP BY 1, 2, 3;
