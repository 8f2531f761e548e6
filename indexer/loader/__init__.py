"""The loader: any catalog row, by its id, becomes a torch model ready to fine-tune.

    from indexer.loader import load_model
    ft = load_model("timm:resnet18.a1_in1k", num_classes=10, strategy="partial")
    optimizer = torch.optim.AdamW(ft.param_groups())

One backend module per library (timm, transformers, torchvision, torch.hub) behind load_model;
the loader reads the catalog and never crawls. torch is imported only here, not by the catalog.
"""

from .api import BACKENDS, FineTuneModel, catalog_row, load_model
from .tuning import STRATEGIES, Stage

__all__ = ["BACKENDS", "STRATEGIES", "FineTuneModel", "Stage", "catalog_row", "load_model"]
