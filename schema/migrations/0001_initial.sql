-- modelcat catalog: the first schema. Later migrations add to it; never edit an applied one.

-- One row per model per source. The catalog id is scheme-prefixed:
-- timm:<arch>.<tag>, torchvision:<builder>.<WEIGHTS>, hf:<owner>/<name>, torchhub:<owner>/<repo>:<entrypoint>
CREATE TABLE models (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    name             TEXT NOT NULL,
    author           TEXT,
    task             TEXT,              -- Hugging Face pipeline tag (schema/tasks.yml)
    task_raw         TEXT,              -- as the source gave it, when it gave one
    library          TEXT,              -- timm, torchvision, transformers, ...
    license          TEXT NOT NULL DEFAULT 'unknown',   -- lower-case SPDX-style id (schema/licenses.yml)
    license_raw      TEXT,
    license_family   TEXT NOT NULL DEFAULT 'unknown',   -- permissive|copyleft|restricted|non-commercial|unknown
    is_open          INTEGER NOT NULL DEFAULT 0,        -- 1 when license_family is permissive or copyleft
    num_params       INTEGER,
    size_bytes       INTEGER,           -- weights size in bytes
    size_is_estimate INTEGER,           -- 1: from parameters x dtype width; 0: a real file size
    url              TEXT,
    description      TEXT,
    tags             TEXT,              -- JSON array of strings
    created_at       TEXT,              -- as the source states (ISO 8601), when it does
    updated_at       TEXT,
    -- what the loader needs
    architecture     TEXT,              -- timm architecture / torchvision builder
    weights          TEXT,              -- timm pretrained tag / torchvision weights enum member
    hf_hub_id        TEXT,              -- Hugging Face repo holding the weights
    input_size       TEXT,              -- JSON [channels, height, width]
    mean             TEXT,              -- JSON [r, g, b]
    std              TEXT,              -- JSON [r, g, b]
    crop_pct         REAL,
    interpolation    TEXT,
    num_classes      INTEGER,           -- 0: no classifier (a feature extractor)
    classifier       TEXT,              -- classifier module name(s), comma-separated
    first_conv       TEXT,
    source_version   TEXT,              -- version of the library the row was read from
    extra            TEXT,              -- JSON object: source-specific fields
    -- bookkeeping (catalog time, UTC ISO 8601)
    record_hash      TEXT NOT NULL,     -- digest of the normalized record: unchanged rows are not rewritten
    first_seen       TEXT NOT NULL,
    last_seen        TEXT NOT NULL,
    changed_at       TEXT NOT NULL,     -- last time the content changed (or the row was removed)
    removed_at       TEXT               -- set when the source stopped listing it
);
CREATE INDEX idx_models_source ON models (source);
CREATE INDEX idx_models_task_open_size ON models (task, is_open, size_bytes);
CREATE INDEX idx_models_license_family ON models (license_family);
CREATE INDEX idx_models_library ON models (library);
CREATE INDEX idx_models_changed_at ON models (changed_at);
CREATE INDEX idx_models_hf_hub_id ON models (hf_hub_id);

CREATE TABLE datasets (
    id          TEXT PRIMARY KEY,       -- canonical id (schema/datasets.yml)
    name        TEXT NOT NULL,
    kind        TEXT,
    url         TEXT,
    aliases     TEXT                    -- JSON array of the spellings that name it
);

CREATE TABLE model_datasets (
    model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    dataset_id  TEXT NOT NULL REFERENCES datasets (id),
    role        TEXT NOT NULL,          -- train | pretrain | finetune
    raw         TEXT,                   -- the spelling the source used
    source      TEXT NOT NULL,          -- who said so
    PRIMARY KEY (model_id, dataset_id)
);
CREATE INDEX idx_model_datasets_dataset ON model_datasets (dataset_id, model_id);

CREATE TABLE metrics (
    model_id     TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    dataset_id   TEXT REFERENCES datasets (id),   -- canonical, when known
    dataset_raw  TEXT NOT NULL,                    -- evaluation set as the source names it
    metric       TEXT NOT NULL,                    -- canonical: top1, top5, box_map, miou, epe, ...
    metric_raw   TEXT NOT NULL,
    value        REAL NOT NULL,
    source       TEXT NOT NULL,
    PRIMARY KEY (model_id, source, dataset_raw, metric_raw)
);
CREATE INDEX idx_metrics_dataset_metric ON metrics (dataset_id, metric, value);

CREATE TABLE papers (
    id                TEXT PRIMARY KEY,  -- arxiv:<id>
    arxiv_id          TEXT,
    title             TEXT,
    authors           TEXT,              -- JSON array
    abstract          TEXT,
    published         TEXT,
    updated           TEXT,
    categories        TEXT,              -- JSON array
    primary_category  TEXT,
    doi               TEXT,
    pdf_url           TEXT,
    url               TEXT,
    fetched_at        TEXT               -- NULL until the arXiv source has read it
);

CREATE TABLE model_papers (
    model_id  TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    paper_id  TEXT NOT NULL REFERENCES papers (id),
    raw       TEXT,
    source    TEXT NOT NULL,
    PRIMARY KEY (model_id, paper_id)
);
CREATE INDEX idx_model_papers_paper ON model_papers (paper_id, model_id);

-- One row per source per refresh.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    status          TEXT NOT NULL,      -- running | ok | failed | unavailable | interrupted
    seen            INTEGER NOT NULL DEFAULT 0,
    new             INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL DEFAULT 0,
    unchanged       INTEGER NOT NULL DEFAULT 0,
    removed         INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    seconds         REAL,
    source_version  TEXT,
    error           TEXT,
    details         TEXT                -- JSON: skip reasons, cache use, ...
);
CREATE INDEX idx_runs_source_started ON runs (source, started_at);
