-- Views are not data: the store drops and re-creates any view whose SQL differs from this file.

-- One row per model still listed by its source, with sizes in human units.
CREATE VIEW model_summary AS
SELECT
    m.id,
    m.name,
    m.source,
    m.task,
    m.library,
    m.license,
    m.license_family,
    m.is_open,
    round(m.num_params / 1e6, 2) AS params_m,
    round(m.size_bytes / 1e6, 1) AS size_mb,
    m.size_is_estimate,
    m.dataset_ids AS datasets,  -- kept on the row by the writer (migration 0014), as imagenet_top1
    m.imagenet_top1,
    m.downloads,
    m.gated,
    m.loadable,
    m.load_backend,
    m.load_note,
    m.author,
    m.url,
    m.entity_id,
    m.rowid AS model_rowid
FROM models m
WHERE m.removed_at IS NULL;

-- The latest run of every source: is the catalog fresh?
CREATE VIEW latest_runs AS
SELECT r.*
FROM runs r
WHERE r.id = (SELECT max(r2.id) FROM runs r2 WHERE r2.source = r.source);

-- One row per distinct model (entity): the same weights seen in several sources (timm:x, hf:timm/x,
-- torchhub:pytorch/vision:resnet18 = torchvision:resnet18.IMAGENET1K_V1) are one entity, with all its ids.
-- The entities table is kept by the writer (store/entities.py); this view names its columns as before.
CREATE VIEW model_entities AS
SELECT
    entity,
    n_ids,
    ids,
    sources,
    task,
    num_params,
    round(size_bytes / 1e6, 1) AS size_mb,
    is_open,
    imagenet_top1
FROM entities;

-- A paper with the models that cite it and the code it points to (or that its models point to).
CREATE VIEW paper_summary AS
SELECT
    p.id,
    p.title,
    p.published,
    p.primary_category,
    -- kept as models come and go (paper_counts, migration 0025): counting them here took 0.45 s a page
    coalesce((SELECT pc.n_models FROM paper_counts pc WHERE pc.paper_id = p.id), 0) AS n_models,
    (SELECT json_group_array(mp.model_id) FROM model_papers mp WHERE mp.paper_id = p.id) AS models,
    (SELECT json_group_array(DISTINCT pr.repo_id) FROM paper_repos pr WHERE pr.paper_id = p.id) AS code,
    (SELECT count(*) FROM paper_results r WHERE r.paper_id = p.id) AS n_results,
    p.authors,
    p.doi,
    p.url,
    p.missing,
    p.fetched_at,
    p.rowid AS paper_rowid
FROM papers p;

-- What the papers a model cites report on leaderboards (the pwc source), one row per result.
-- same_name = 1: the leaderboard's model name is this model's architecture (or name), letters and
-- digits compared ("EfficientNet-B0" and timm's efficientnet_b0): the paper's result for this
-- architecture. The weights the paper measured need not be these (a retrained checkpoint); the
-- model's own measurements are in metrics. Joined in this order (CROSS JOIN): without planner
-- statistics SQLite walked every model to count the rows (3.5 s on 1M models; 15 ms this way), and
-- a model's results (its page) are found through its papers.
CREATE VIEW model_paper_results AS
SELECT
    mp.model_id,
    r.model_key = lower(replace(replace(replace(replace(replace(coalesce(m.architecture, m.name),
        '_', ''), '-', ''), '.', ''), ' ', ''), '/', '')) AS same_name,
    r.model_name,
    r.task,
    r.dataset_id,
    r.dataset_raw,
    r.metric,
    r.metric_raw,
    r.value,
    r.value_raw,
    r.extra_data,
    r.paper_id,
    r.paper_date,
    r.origin,
    r.source
FROM model_papers mp
CROSS JOIN paper_results r ON r.paper_id = mp.paper_id
CROSS JOIN models m ON m.id = mp.model_id
WHERE m.removed_at IS NULL;
