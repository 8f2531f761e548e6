-- Full-text search over models (name, description, tags), kept in step by triggers.
-- Same shape as sqlite-utils' enable_fts(create_triggers=True), which Datasette detects.
CREATE VIRTUAL TABLE models_fts USING FTS5 (name, description, tags, content=[models]);

CREATE TRIGGER models_ai AFTER INSERT ON models BEGIN
    INSERT INTO models_fts (rowid, name, description, tags)
    VALUES (new.rowid, new.name, new.description, new.tags);
END;

CREATE TRIGGER models_ad AFTER DELETE ON models BEGIN
    INSERT INTO models_fts (models_fts, rowid, name, description, tags)
    VALUES ('delete', old.rowid, old.name, old.description, old.tags);
END;

-- Only when an indexed column changes: a refresh touching last_seen must not churn the index.
CREATE TRIGGER models_au AFTER UPDATE OF name, description, tags ON models BEGIN
    INSERT INTO models_fts (models_fts, rowid, name, description, tags)
    VALUES ('delete', old.rowid, old.name, old.description, old.tags);
    INSERT INTO models_fts (rowid, name, description, tags)
    VALUES (new.rowid, new.name, new.description, new.tags);
END;

INSERT INTO models_fts (models_fts) VALUES ('rebuild');
