-- New models are put in the full-text index by the store's writer, one set-based statement per
-- batch (store.py, SourceWriter.flush), instead of this per-row trigger: the trigger was half of
-- the insert cost at Hub scale (scripts/bench.py, P1). Deletes and updates of the indexed
-- columns keep their triggers (models_ad, models_au): they are rare.
DROP TRIGGER models_ai;
