-- Hugging Face Hub and cross-source identity.

-- One entity, several sources: timm:resnet18.a1_in1k and hf:timm/resnet18.a1_in1k are the same
-- weights. Rows of one entity share entity_id (by default a row is its own entity).
ALTER TABLE models ADD COLUMN entity_id TEXT;
UPDATE models SET entity_id = id WHERE entity_id IS NULL;
CREATE INDEX idx_models_entity ON models (entity_id);
-- hf_hub_id is looked up through entities now: its index only cost writes
DROP INDEX idx_models_hf_hub_id;

-- The source's own stable key (the Hub's _id survives renames): finds a renamed model's old row.
ALTER TABLE models ADD COLUMN source_uid TEXT;
CREATE INDEX idx_models_source_uid ON models (source, source_uid);

ALTER TABLE models ADD COLUMN license_name TEXT;   -- the license's own name when license = 'other'
ALTER TABLE models ADD COLUMN downloads INTEGER;   -- as the source counts them (Hub: last 30 days)
ALTER TABLE models ADD COLUMN likes INTEGER;
ALTER TABLE models ADD COLUMN gated TEXT;          -- NULL: open; 'auto' / 'manual': access must be requested
ALTER TABLE models ADD COLUMN private INTEGER;
ALTER TABLE models ADD COLUMN disabled INTEGER;
ALTER TABLE models ADD COLUMN sha TEXT;            -- the revision the row describes
ALTER TABLE models ADD COLUMN repo_bytes INTEGER;  -- the whole repository (Hub usedStorage), not the weights
CREATE INDEX idx_models_downloads ON models (downloads);

-- Old ids that now point elsewhere (a renamed Hub repo answers 307 to its new id).
CREATE TABLE model_aliases (
    alias     TEXT PRIMARY KEY,
    model_id  TEXT NOT NULL,
    source    TEXT NOT NULL,
    seen_at   TEXT NOT NULL
);
CREATE INDEX idx_model_aliases_model ON model_aliases (model_id);

-- Lineage: this model is a <relation> of related_id (which need not be in the catalog).
CREATE TABLE model_relations (
    model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    relation    TEXT NOT NULL,   -- base_model (unspecified), finetune, adapter, quantized, merge
    related_id  TEXT NOT NULL,
    raw         TEXT,
    source      TEXT NOT NULL,
    PRIMARY KEY (model_id, relation, related_id)
);
CREATE INDEX idx_model_relations_related ON model_relations (related_id);

-- Per-source progress: cursors, watermarks, sweep bookkeeping. Never credentials.
CREATE TABLE source_state (
    source      TEXT PRIMARY KEY,
    state       TEXT NOT NULL,   -- JSON
    updated_at  TEXT NOT NULL
);

-- Datasets named by a source but absent from schema/datasets.yml (Hub dataset repos) get a row
-- of their own, curated = 0, so model_datasets can point at them.
ALTER TABLE datasets ADD COLUMN curated INTEGER NOT NULL DEFAULT 1;
