-- The full-text index of a model follows its name, description and tags when they change, and only
-- then (issue #30). The writer rewrites a changed model's whole row, so `AFTER UPDATE OF name,
-- description, tags` fired for every changed model: on a Hub night most changes are a new commit
-- (sha, lastModified) with the same text, and each one deleted and indexed its description again.
DROP TRIGGER IF EXISTS models_au;
CREATE TRIGGER models_au AFTER UPDATE OF name, description, tags ON models
WHEN old.name IS NOT new.name OR old.description IS NOT new.description OR old.tags IS NOT new.tags
BEGIN
    INSERT INTO models_fts (models_fts, rowid, name, description, tags)
    VALUES ('delete', old.rowid, old.name, old.description, old.tags);
    INSERT INTO models_fts (rowid, name, description, tags)
    VALUES (new.rowid, new.name, new.description, new.tags);
END;
