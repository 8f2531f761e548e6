-- Is this model still listed? Pages that count a paper's models (paper_summary's n_models, the
-- papers behind the ImageNet models) look each of them up by id and read removed_at: through the
-- table that was one row read per model (paper_summary 0.8 s on 1M models), through this index,
-- which holds both, 0.1 s.
CREATE INDEX idx_models_id_live ON models (id, removed_at);
