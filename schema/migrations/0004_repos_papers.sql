-- Code repositories, paper metadata, and the links between models, papers and code.

CREATE TABLE repos (
    id              TEXT PRIMARY KEY,    -- github:<owner>/<name>, lower case (GitHub names ignore case)
    full_name       TEXT NOT NULL,       -- as GitHub writes it
    owner           TEXT,
    name            TEXT,
    description     TEXT,
    url             TEXT,
    homepage        TEXT,
    stars           INTEGER,
    forks           INTEGER,
    open_issues     INTEGER,
    license         TEXT NOT NULL DEFAULT 'unknown',
    license_raw     TEXT,                -- GitHub's spdx_id (NOASSERTION: a license GitHub could not identify)
    license_family  TEXT NOT NULL DEFAULT 'unknown',
    is_open         INTEGER NOT NULL DEFAULT 0,
    topics          TEXT,                -- JSON array
    language        TEXT,
    created_at      TEXT,
    pushed_at       TEXT,
    archived        INTEGER,
    fork            INTEGER,
    default_branch  TEXT,
    has_hubconf     INTEGER,             -- 1: a hubconf.py (PyTorch Hub entrypoints); 0: none; NULL: not known
    missing         INTEGER,             -- 1: GitHub answered 404 for it
    source          TEXT,                -- the source that read it; NULL while it is only linked to
    record_hash     TEXT,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    changed_at      TEXT NOT NULL,
    fetched_at      TEXT                 -- NULL until a source has read it
);
CREATE INDEX idx_repos_stars ON repos (stars);
CREATE INDEX idx_repos_fetched ON repos (fetched_at);

CREATE TABLE model_repos (
    model_id  TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    repo_id   TEXT NOT NULL REFERENCES repos (id),
    raw       TEXT,                      -- the URL or id the link came from
    source    TEXT NOT NULL,
    PRIMARY KEY (model_id, repo_id)
);
CREATE INDEX idx_model_repos_repo ON model_repos (repo_id, model_id);

-- Two sources say which paper's code is where: arxiv (a GitHub URL in the abstract or comments)
-- and github (an arXiv link in the repository's README). Each keeps its own rows.
CREATE TABLE paper_repos (
    paper_id  TEXT NOT NULL REFERENCES papers (id),
    repo_id   TEXT NOT NULL REFERENCES repos (id),
    raw       TEXT,                      -- the URL in the abstract, or "README"
    source    TEXT NOT NULL,
    PRIMARY KEY (paper_id, repo_id, source)
);
CREATE INDEX idx_paper_repos_repo ON paper_repos (repo_id, paper_id);

ALTER TABLE papers ADD COLUMN version INTEGER;
ALTER TABLE papers ADD COLUMN comment TEXT;
ALTER TABLE papers ADD COLUMN journal_ref TEXT;
ALTER TABLE papers ADD COLUMN missing INTEGER;       -- 1: arXiv has no such id
ALTER TABLE papers ADD COLUMN record_hash TEXT;
CREATE INDEX idx_papers_fetched ON papers (fetched_at);

-- Full-text search over papers and repositories, kept in step like models_fts.
CREATE VIRTUAL TABLE papers_fts USING FTS5 (title, abstract, authors, content=[papers]);
CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
    INSERT INTO papers_fts (rowid, title, abstract, authors) VALUES (new.rowid, new.title, new.abstract, new.authors);
END;
CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
    VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
END;
CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract, authors ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
    VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
    INSERT INTO papers_fts (rowid, title, abstract, authors) VALUES (new.rowid, new.title, new.abstract, new.authors);
END;
INSERT INTO papers_fts (papers_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE repos_fts USING FTS5 (full_name, description, topics, content=[repos]);
CREATE TRIGGER repos_ai AFTER INSERT ON repos BEGIN
    INSERT INTO repos_fts (rowid, full_name, description, topics) VALUES (new.rowid, new.full_name, new.description, new.topics);
END;
CREATE TRIGGER repos_ad AFTER DELETE ON repos BEGIN
    INSERT INTO repos_fts (repos_fts, rowid, full_name, description, topics)
    VALUES ('delete', old.rowid, old.full_name, old.description, old.topics);
END;
CREATE TRIGGER repos_au AFTER UPDATE OF full_name, description, topics ON repos BEGIN
    INSERT INTO repos_fts (repos_fts, rowid, full_name, description, topics)
    VALUES ('delete', old.rowid, old.full_name, old.description, old.topics);
    INSERT INTO repos_fts (rowid, full_name, description, topics) VALUES (new.rowid, new.full_name, new.description, new.topics);
END;
