-- One entity from evidence (issue #33). model_files: the files a model's weights download from,
-- as its source names them (timm's pretrained URL, torchvision's weights URL; a content hash where
-- a source gives one). Rows of several sources naming the same file are the same weights:
-- entity_merges records each entity folded into another, with the evidence that made it (never a
-- name alone); the writer keeps every row of a merged entity in the one it was merged into
-- (store/evidence.py). Written with the rows' other children: a timm or torchvision row gets its
-- files the next time its source lists it (their digests change once).
CREATE TABLE model_files (
    model_id  TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    url       TEXT NOT NULL,
    sha256    TEXT,
    source    TEXT NOT NULL,
    PRIMARY KEY (model_id, url)
);
CREATE INDEX idx_model_files_url ON model_files (url);
CREATE INDEX idx_model_files_sha256 ON model_files (sha256) WHERE sha256 IS NOT NULL;
CREATE TABLE entity_merges (
    entity_id    TEXT PRIMARY KEY,    -- an entity that is no more: its rows are in merged_into's
    merged_into  TEXT NOT NULL,
    evidence     TEXT NOT NULL,       -- what made the link: "same weights file" (and, to come, "same content hash")
    value        TEXT,                -- the file's URL or hash
    found_at     TEXT NOT NULL
);
CREATE INDEX idx_entity_merges_into ON entity_merges (merged_into);
