-- The seed question (stored query open_classifiers) walks the models of one task in size order
-- and stops once Datasette has its rows: 17 ms instead of 74 ms for the first thousand answers on
-- 200k models, and flat in catalog size (scripts/bench.py, P3).
CREATE INDEX idx_models_task_size ON models (task, size_bytes);
