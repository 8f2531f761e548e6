-- Where each metric came from, beyond the source that wrote it: the file and version (timm's
-- results/results-imagenet.csv at v1.0.20), the part of a model card (model-index, a Hub
-- .eval_results/*.yaml file) and whom it credits. NULL on rows written before this column.
ALTER TABLE metrics ADD COLUMN origin TEXT;
