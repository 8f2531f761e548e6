-- What papers report on leaderboards (the pwc source: Papers with Code's evaluation tables, from
-- its archive), and which code is the authors' own.

CREATE TABLE paper_results (
    paper_key     TEXT NOT NULL,      -- the paper's catalog id (arxiv:<id>) when known, else the archive's paper URL
    paper_id      TEXT REFERENCES papers (id),  -- arxiv:<id>; NULL when the archive gives no arXiv id
    task          TEXT NOT NULL,      -- the leaderboard's task, as the archive names it ("Image Classification")
    dataset_raw   TEXT NOT NULL,      -- the leaderboard's dataset ("ImageNet"; a subdataset: "ImageNet / ReaL")
    dataset_id    TEXT REFERENCES datasets (id),  -- canonical, when known
    metric_raw    TEXT NOT NULL,      -- "Top 1 Accuracy"
    metric        TEXT NOT NULL,      -- canonical: top1, top5, box_map, ...
    model_name    TEXT NOT NULL,      -- the row's name on the leaderboard ("EfficientNet-B7")
    model_key     TEXT NOT NULL,      -- model_name in lower-case letters and digits ("efficientnetb7")
    value         REAL,               -- NULL when the archive's value is not a number
    value_raw     TEXT,               -- as the archive wrote it ("84.4%")
    extra_data    INTEGER,            -- 1: the row used data beyond the benchmark's training set
    paper_date    TEXT,
    origin        TEXT,               -- the archive and its revision
    source        TEXT NOT NULL,
    PRIMARY KEY (paper_key, task, dataset_raw, model_name, metric_raw)
);
CREATE INDEX idx_paper_results_paper ON paper_results (paper_id);
CREATE INDEX idx_paper_results_board ON paper_results (dataset_id, metric, value);
CREATE INDEX idx_paper_results_source ON paper_results (source, paper_key);

ALTER TABLE paper_repos ADD COLUMN official INTEGER;   -- 1: the authors' own code (pwc); NULL: not said
ALTER TABLE paper_repos ADD COLUMN framework TEXT;     -- pytorch, tf, jax, ... (pwc); NULL: not said
ALTER TABLE papers ADD COLUMN pwc_url TEXT;            -- the paper's page in the Papers with Code archive
