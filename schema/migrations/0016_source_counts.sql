-- What the home page counts for each source (issue #30, step 5): its live models, and how many of
-- them have an open license and can be loaded. Kept by the writer as it adds, rewrites, renames and
-- removes rows (deltas, so a night's cost follows its changes); filled here from the rows.
CREATE TABLE source_counts (
    source    TEXT PRIMARY KEY,
    models    INTEGER NOT NULL DEFAULT 0,
    open      INTEGER NOT NULL DEFAULT 0,
    loadable  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO source_counts (source, models, open, loadable)
SELECT source, count(*), sum(is_open = 1), sum(loadable = 1) FROM models WHERE removed_at IS NULL GROUP BY source;
