"""timm rows (timm:<arch>.<tag>) and Hugging Face repositories of library timm (hf:<repo>):
timm.create_model, with timm's own classifier reset and stage grouping."""

from __future__ import annotations

from ..torchcompat import ensure_torchvision_importable
from .base import Built, LoadOptions, translate
from .fastinit import build_fast
from .tuning import stages_from_groups


def model_name(row: dict) -> tuple[str, str]:
    """(the name timm.create_model takes, the Hub repository its weights come from; for a row whose
    files are in a local folder, such as a Kaggle variation's, that folder)."""
    if row.get("local_dir"):
        return f"local-dir:{row['local_dir']}", row["local_dir"]
    if row["source"] == "hf":
        return f"hf-hub:{row['hf_hub_id'] or row['name']}", row["hf_hub_id"] or row["name"]
    name = row["id"].split(":", 1)[1]
    return name, row.get("hf_hub_id") or f"timm/{name}"


def build(row: dict, opts: LoadOptions) -> Built:
    ensure_torchvision_importable()
    import timm
    from timm.data import create_transform, resolve_data_config
    from timm.models import group_parameters

    name, repo = model_name(row)
    if opts.revision and name.startswith("hf-hub:"):
        name = f"{name}@{opts.revision}"
    kwargs = {"num_classes": opts.num_classes} if opts.num_classes is not None else {}
    try:
        if opts.pretrained:  # the checkpoint overwrites the initialization: skip it
            model = build_fast(lambda: timm.create_model(name, pretrained=True, **kwargs))
        else:
            model = timm.create_model(name, **kwargs)
    except Exception as e:  # noqa: BLE001 - translated where we know the cause, else re-raised
        err = translate(e, row["id"], repo)
        if err is e and isinstance(e, RuntimeError) and "Unknown model" in str(e):
            from ..errors import NotLoadable

            raise NotLoadable(f"{row['id']}: timm {timm.__version__} has no model {name!r} "
                              "(upgrade timm, or run `modelcat refresh --source timm`)") from e
        raise err from e
    cfg = getattr(model, "pretrained_cfg", None) or {}
    classifier = cfg.get("classifier") or "head"
    head = list(classifier) if isinstance(classifier, (list, tuple)) else [classifier]
    head = [h for h in head if _has(model, h)]
    reset = False
    if opts.num_classes is not None:
        if not callable(getattr(model, "reset_classifier", None)):  # an encoder (a VLM's vision tower)
            from ..errors import NotLoadable

            raise NotLoadable(f"{row['id']}: timm's {type(model).__name__} is an encoder with no classifier to "
                              "replace: load it with num_classes=None (its features) and put your own head on them")
        # timm keeps a pretrained head whose size already matches: the issue asks for a new one
        if opts.num_classes == cfg.get("num_classes") or not opts.pretrained:
            model.reset_classifier(opts.num_classes)
        reset = True
        head = [h for h in head if _has(model, h)]
    if opts.head:
        head = list(opts.head)
    try:
        groups = group_parameters(model, model.group_matcher(coarse=True))
        stages = stages_from_groups([(_group_name(params), params) for _, params in sorted(groups.items())],
                                    model, head)
    except (NotImplementedError, AttributeError, TypeError, AssertionError):  # no coarse group_matcher: find them
        stages = None
    data = resolve_data_config(model=model)
    return Built(
        model=model,
        head=head,
        stages=stages,
        preprocess={k: list(v) if isinstance(v, tuple) else v for k, v in data.items()},
        transform=create_transform(**data, is_training=False),
        train_transform=create_transform(**data, is_training=True),
        head_reset=reset,
    )


def _has(model, name: str) -> bool:
    try:
        model.get_submodule(name)
    except AttributeError:
        return False
    return True


def _group_name(params: list[str]) -> str:
    """A group's name from its modules: 'layer4', 'blocks.5+norm', 'conv1+bn1'."""
    firsts: dict[str, set[str]] = {}
    for p in params:
        parts = p.split(".")
        firsts.setdefault(parts[0], set()).add(parts[1] if len(parts) > 2 else "")
    names = [f"{top}.{next(iter(seconds))}" if len(seconds) == 1 and next(iter(seconds)).isdigit() else top
             for top, seconds in firsts.items()]
    return "+".join(names[:4]) + ("+..." if len(names) > 4 else "")
