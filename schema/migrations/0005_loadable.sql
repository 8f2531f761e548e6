-- Can load_model build the row, and how (indexer/normalize/loadable.py, schema/loaders.yml).
-- Filled at refresh time; rows written before this migration are filled by store.py's
-- backfill right after it (so Datasette can facet on loadable from the first open).
ALTER TABLE models ADD COLUMN loadable INTEGER;     -- 1: load_model can build it; 0: it cannot (load_note says why)
ALTER TABLE models ADD COLUMN load_backend TEXT;    -- timm | transformers | torchvision | torchhub
ALTER TABLE models ADD COLUMN load_note TEXT;       -- why not, and what to do instead; or a condition (trust, token)
CREATE INDEX idx_models_loadable ON models (loadable, task);
