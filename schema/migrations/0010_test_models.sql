-- Models that exist to test code (schema/test_models.yml, indexer/normalize/testmodel.py): left out
-- of answers by default. Filled at refresh time; rows written before this migration are flagged by
-- store.py's backfill right after it.
ALTER TABLE models ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0;  -- 1: a test model (tiny, random, a test fixture)
