-- Every sort the model pages offer walks an index (issue #30): at Hub scale a sort that reads and
-- orders every row passes the SQL time limit (models?_sort_desc=created_at at 1M models). The pages
-- offer only these sorts (metadata.yml's sortable_columns); model_summary's and model_entities'
-- size_mb and params_m are expressions, indexed as the views compute them.
CREATE INDEX idx_models_size_mb ON models (round(size_bytes / 1e6, 1)) WHERE removed_at IS NULL;
CREATE INDEX idx_models_params_m ON models (round(num_params / 1e6, 2)) WHERE removed_at IS NULL;
CREATE INDEX idx_entities_size_mb ON entities (round(size_bytes / 1e6, 1));
CREATE INDEX idx_entities_num_params ON entities (num_params);
