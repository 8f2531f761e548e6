-- What the pages show of each model and would otherwise compute row by row (issue #30, step 2),
-- kept on the model's row by the writer whenever it writes the row and its children: the datasets
-- it was trained on (a JSON array of dataset ids, sorted) and its ImageNet-1K top-1 (the highest
-- its source reports). model_summary, search and the stored queries read these columns; they are
-- derived from the row's own children, so they are not part of its record digest.
ALTER TABLE models ADD COLUMN dataset_ids TEXT;
ALTER TABLE models ADD COLUMN imagenet_top1 REAL;
UPDATE models SET
    dataset_ids = (SELECT json_group_array(d.dataset_id) FROM model_datasets d WHERE d.model_id = models.id),
    imagenet_top1 = (SELECT max(x.value) FROM metrics x
                     WHERE x.model_id = models.id AND +x.dataset_id = 'imagenet-1k' AND +x.metric = 'top1');
-- the sort by accuracy (model_summary's imagenet_top1, search --sort top1)
CREATE INDEX idx_models_top1 ON models (imagenet_top1) WHERE removed_at IS NULL;
