-- The models pages open sorted by downloads, and a facet's click filters on one column. With an
-- index on the column and downloads over the live rows, `model_summary?library=transformers` walks
-- the matching rows in the order it shows and stops at the page's 51st (on 1M models it read and
-- sorted every match: 0.9 to 1.4 s a page in issue #30's crawl). Partial (WHERE removed_at IS NULL):
-- for model_summary's other sorts SQLite then still prefers the (column, removed_at) index, which
-- matches both of its terms and reads the rows in rowid order (through a downloads-ordered index
-- the table is read at random: 3x slower); that index also keeps the facets counted from the rows
-- covered.
--
-- Order matters. The catalog keeps no planner statistics, so for a page filtered on two columns
-- (`?source=torchvision&loadable=1`) SQLite sees two indexes that look alike, and takes the one
-- created last. Each kind is created from the column with the fewest values to the one with the
-- most (loadable, license family, source, task, license, library), so the column that narrows
-- most is walked: on 1M models, `source=torchvision&loadable=1` walked half a million loadable
-- rows for 166 (5 s). Sorted by downloads, source's index is made last, so taken first: a small
-- source (timm, torchvision) is read whole, never walked past through a big license's rows (those
-- rows come after the Hub's, whose downloads they lack: `source=timm&license=apache-2.0` took 2.6 s
-- on 1M models), and a facet value offered beside the Hub's is common there. loadable's two carry source after them: SQLite thinks an index of integers
-- cheaper to read than one of text and took them whatever their order; wider, they are the ones
-- it takes last (and the narrow one answers `loadable=1&source=hf` sorted otherwise exactly). A first load that defers them rebuilds them in this order (deferred_indexes
-- keeps it). tests/test_datasette.py checks the plans. The writer changes downloads only on rows a
-- source lists again with a new count.
DROP INDEX IF EXISTS idx_models_library;
DROP INDEX IF EXISTS idx_models_license_family;
DROP INDEX IF EXISTS idx_models_source;
DROP INDEX IF EXISTS idx_models_license;
DROP INDEX IF EXISTS idx_models_task_live;
DELETE FROM deferred_indexes
 WHERE name IN ('idx_models_library', 'idx_models_license_family', 'idx_models_source', 'idx_models_license',
                'idx_models_task_live');
CREATE INDEX idx_models_loadable_live ON models (loadable, removed_at, source);
CREATE INDEX idx_models_license_family ON models (license_family, removed_at);
CREATE INDEX idx_models_source ON models (source, removed_at);
CREATE INDEX idx_models_task_live ON models (task, removed_at);
CREATE INDEX idx_models_license ON models (license, removed_at);
CREATE INDEX idx_models_library ON models (library, removed_at);
CREATE INDEX idx_models_loadable_downloads ON models (loadable, downloads, source) WHERE removed_at IS NULL;
CREATE INDEX idx_models_license_family_downloads ON models (license_family, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_task_downloads ON models (task, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_license_downloads ON models (license, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_library_downloads ON models (library, downloads) WHERE removed_at IS NULL;
CREATE INDEX idx_models_source_downloads ON models (source, downloads) WHERE removed_at IS NULL;
