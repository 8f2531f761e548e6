-- Per training dataset and paper: how many distinct live models (entities) name both, and their
-- best top-1 on that dataset (issue #30). papers_behind_imagenet_models counted them from every
-- model that names the dataset and a paper: 110,000 model rows at 2.3M models, 0.75 s warm and
-- 10 s from a cold cache (past the pages' time limit). Distinct models cannot be counted by a
-- trigger's +1/-1 on rows: paper_dataset_entities holds, per dataset and paper, each entity with a
-- live row naming both (and its best top-1 there); the triggers mark the entities whose rows,
-- papers, datasets or top-1 changed (paper_dataset_stale), and the writer's finish counts those
-- entities again and moves the counts by what they gained and lost (store/facets.py,
-- settle_paper_datasets): the cost follows the changes, not how many models name a paper. A first
-- load drops the triggers with the facet counts' and rebuilds both tables whole at its end.
-- Filled by the migration's backfill (store/schema.py).
CREATE TABLE paper_dataset_entities (
    dataset_id  TEXT NOT NULL,
    paper_id    TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    best_top1   REAL,               -- the entity's best top-1 on the dataset, where a row reports one
    PRIMARY KEY (dataset_id, paper_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX idx_paper_dataset_entities_entity ON paper_dataset_entities (entity_id);
CREATE INDEX idx_paper_dataset_entities_top1 ON paper_dataset_entities (dataset_id, paper_id, best_top1);
CREATE TABLE paper_dataset_counts (
    dataset_id  TEXT NOT NULL,
    paper_id    TEXT NOT NULL,
    n_models    INTEGER NOT NULL,   -- rows of paper_dataset_entities: distinct live models naming both
    best_top1   REAL,               -- the best of theirs
    PRIMARY KEY (dataset_id, paper_id)
) WITHOUT ROWID;
CREATE TABLE paper_dataset_stale (
    entity_id   TEXT PRIMARY KEY    -- counted again by the writer's finish
) WITHOUT ROWID;
CREATE TRIGGER trg_model_papers_stale_insert AFTER INSERT ON model_papers
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id) SELECT entity_id FROM models WHERE id = new.model_id AND entity_id IS NOT NULL;
END;
CREATE TRIGGER trg_model_papers_stale_delete AFTER DELETE ON model_papers
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id) SELECT entity_id FROM models WHERE id = old.model_id AND entity_id IS NOT NULL;
END;
CREATE TRIGGER trg_model_papers_stale_update AFTER UPDATE OF model_id, paper_id ON model_papers
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id)
    SELECT entity_id FROM models WHERE id IN (old.model_id, new.model_id) AND entity_id IS NOT NULL;
END;
-- a dataset or a top-1 of a model that names no paper changes nothing here (its papers' rows mark it when they come)
CREATE TRIGGER trg_model_datasets_stale_insert AFTER INSERT ON model_datasets
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id) SELECT entity_id FROM models WHERE id = new.model_id AND entity_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id = new.model_id);
END;
CREATE TRIGGER trg_model_datasets_stale_delete AFTER DELETE ON model_datasets
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id) SELECT entity_id FROM models WHERE id = old.model_id AND entity_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id = old.model_id);
END;
CREATE TRIGGER trg_model_datasets_stale_update AFTER UPDATE OF model_id, dataset_id ON model_datasets
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id)
    SELECT entity_id FROM models WHERE id IN (old.model_id, new.model_id) AND entity_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id IN (old.model_id, new.model_id));
END;
CREATE TRIGGER trg_metrics_stale_insert AFTER INSERT ON metrics WHEN new.metric = 'top1'
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id) SELECT entity_id FROM models WHERE id = new.model_id AND entity_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id = new.model_id);
END;
CREATE TRIGGER trg_metrics_stale_delete AFTER DELETE ON metrics WHEN old.metric = 'top1'
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id) SELECT entity_id FROM models WHERE id = old.model_id AND entity_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id = old.model_id);
END;
CREATE TRIGGER trg_metrics_stale_update AFTER UPDATE ON metrics WHEN old.metric = 'top1' OR new.metric = 'top1'
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id)
    SELECT entity_id FROM models WHERE id IN (old.model_id, new.model_id) AND entity_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id IN (old.model_id, new.model_id));
END;
CREATE TRIGGER trg_models_stale_update AFTER UPDATE OF entity_id, removed_at, id ON models
WHEN old.entity_id IS NOT new.entity_id OR (old.removed_at IS NULL) IS NOT (new.removed_at IS NULL) OR old.id IS NOT new.id
BEGIN
    INSERT OR IGNORE INTO paper_dataset_stale (entity_id)
    SELECT e FROM (SELECT old.entity_id AS e UNION SELECT new.entity_id) WHERE e IS NOT NULL
      AND EXISTS (SELECT 1 FROM model_papers WHERE model_id IN (old.id, new.id));
END;
