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
    (SELECT json_group_array(d.dataset_id) FROM model_datasets d WHERE d.model_id = m.id) AS datasets,
    (SELECT max(x.value) FROM metrics x
      WHERE x.model_id = m.id AND x.dataset_id = 'imagenet-1k' AND x.metric = 'top1') AS imagenet_top1,
    m.downloads,
    m.gated,
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
