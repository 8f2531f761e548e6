-- How many live models name each paper, kept as models and their papers change (issue #30): the
-- papers page (paper_summary) counted them for every paper before it sorted (a paper such as
-- Sentence-BERT is named by 55,000 of 2.3M models: 0.45 s a page, whatever its sort); it reads
-- them here. Kept by triggers, dropped and rebuilt with the facet counts by a first load
-- (store/facets.py, deferred_indexes' 'facet_counts').
-- The writer writes model_papers with INSERT OR REPLACE, whose replaced row fires no DELETE
-- trigger: the BEFORE INSERT trigger takes back the row it replaces.
CREATE TABLE paper_counts (
    paper_id  TEXT PRIMARY KEY,
    n_models  INTEGER NOT NULL      -- live models with a model_papers row for the paper
) WITHOUT ROWID;
CREATE TRIGGER trg_model_papers_counts_replace BEFORE INSERT ON model_papers
WHEN EXISTS (SELECT 1 FROM model_papers WHERE model_id = new.model_id AND paper_id = new.paper_id)
 AND EXISTS (SELECT 1 FROM models WHERE id = new.model_id AND removed_at IS NULL)
BEGIN
    UPDATE paper_counts SET n_models = n_models - 1 WHERE paper_id = new.paper_id;
END;
CREATE TRIGGER trg_model_papers_counts_insert AFTER INSERT ON model_papers
WHEN EXISTS (SELECT 1 FROM models WHERE id = new.model_id AND removed_at IS NULL)
BEGIN
    INSERT INTO paper_counts (paper_id, n_models) VALUES (new.paper_id, 1)
    ON CONFLICT (paper_id) DO UPDATE SET n_models = n_models + 1;
END;
CREATE TRIGGER trg_model_papers_counts_delete AFTER DELETE ON model_papers
WHEN EXISTS (SELECT 1 FROM models WHERE id = old.model_id AND removed_at IS NULL)
BEGIN
    UPDATE paper_counts SET n_models = n_models - 1 WHERE paper_id = old.paper_id;
END;
CREATE TRIGGER trg_model_papers_counts_update AFTER UPDATE OF model_id, paper_id ON model_papers
BEGIN
    UPDATE paper_counts SET n_models = n_models - 1 WHERE paper_id = old.paper_id
      AND EXISTS (SELECT 1 FROM models WHERE id = old.model_id AND removed_at IS NULL);
    INSERT INTO paper_counts (paper_id, n_models)
    SELECT new.paper_id, 1 WHERE EXISTS (SELECT 1 FROM models WHERE id = new.model_id AND removed_at IS NULL)
    ON CONFLICT (paper_id) DO UPDATE SET n_models = n_models + 1;
END;
CREATE TRIGGER trg_models_paper_counts_insert AFTER INSERT ON models WHEN new.removed_at IS NULL
BEGIN
    INSERT INTO paper_counts (paper_id, n_models)
    SELECT paper_id, count(*) FROM model_papers WHERE model_id = new.id GROUP BY paper_id
    ON CONFLICT (paper_id) DO UPDATE SET n_models = n_models + excluded.n_models;
END;
CREATE TRIGGER trg_models_paper_counts_update AFTER UPDATE OF removed_at, id ON models
WHEN (old.removed_at IS NULL) IS NOT (new.removed_at IS NULL) OR old.id IS NOT new.id
BEGIN
    UPDATE paper_counts SET n_models = n_models - 1
    WHERE old.removed_at IS NULL AND paper_id IN (SELECT paper_id FROM model_papers WHERE model_id = old.id);
    INSERT INTO paper_counts (paper_id, n_models)
    SELECT paper_id, count(*) FROM model_papers WHERE new.removed_at IS NULL AND model_id = new.id GROUP BY paper_id
    ON CONFLICT (paper_id) DO UPDATE SET n_models = n_models + excluded.n_models;
END;
-- A deleted model's paper rows go first, while it is there to say it was live (the foreign key's
-- cascade deletes them after it, when neither side can see the other)
CREATE TRIGGER trg_models_paper_counts_delete BEFORE DELETE ON models WHEN old.removed_at IS NULL
BEGIN
    DELETE FROM model_papers WHERE model_id = old.id;
END;
INSERT INTO paper_counts (paper_id, n_models)
SELECT mp.paper_id, count(*) FROM model_papers mp JOIN models m ON m.id = mp.model_id
WHERE m.removed_at IS NULL GROUP BY mp.paper_id;
