-- The models pages open sorted by downloads, and a facet's click filters on one column. With an
-- index on the column and downloads over the live rows, `model_summary?library=transformers` walks
-- the matching rows in the order it shows and stops at the page's 51st (on 1M models it read and
-- sorted every match: 0.9 to 1.4 s a page in issue #30's crawl). Partial (WHERE removed_at IS NULL):
-- for model_summary's other sorts SQLite then still prefers the (column, removed_at) index, which
-- matches both of its terms and reads the rows in rowid order (through a downloads-ordered index
-- the table is read at random: 3x slower); that index also keeps the facets counted from the rows
-- covered. The writer changes downloads only on rows a source lists again with a new count; a
-- first load builds these at its end, as the others.
CREATE INDEX idx_models_source_downloads ON models (source, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_task_downloads ON models (task, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_library_downloads ON models (library, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_license_downloads ON models (license, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_license_family_downloads ON models (license_family, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_loadable_downloads ON models (loadable, downloads) WHERE removed_at IS NULL;
-- loadable's older index is (loadable, task, removed_at): the other sorts get their narrow one too
CREATE INDEX idx_models_loadable_live ON models (loadable, removed_at);
