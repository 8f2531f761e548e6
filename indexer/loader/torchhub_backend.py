"""PyTorch Hub rows (torchhub:<owner>/<repo>:<entrypoint>): torch.hub.load, which imports and
runs the repository's hubconf.py. Only when the user opts in (trust_repo=True) or the
repository is allow-listed (MODELCAT_TRUSTED_REPOS); otherwise an error that says how."""

from __future__ import annotations

import functools

from ..errors import UntrustedCode
from ..torchcompat import ensure_torchvision_importable
from .base import Built, LoadOptions, last_classifier, replace_layer, torchvision_head, translate, trusted_repos


def parse_id(row: dict) -> tuple[str, str]:
    """('owner/repo', 'entrypoint') of a torchhub row."""
    full, _, entry = row["id"].split(":", 1)[1].rpartition(":")
    return full, entry


def build(row: dict, opts: LoadOptions) -> Built:
    import torch

    full, entry = parse_id(row)
    if not (opts.trust_repo or full.lower() in trusted_repos()):
        raise UntrustedCode(
            f"{row['id']} runs code from https://github.com/{full} (its hubconf.py) on this machine. "
            f"If you trust it: load_model(..., trust_repo=True), `modelcat load {row['id']} --trust-repo`, "
            f"or add {full} to MODELCAT_TRUSTED_REPOS")
    ensure_torchvision_importable()
    extra = row.get("extra") or {}
    ref = opts.revision or extra.get("ref")
    params = extra.get("params") or []
    tv_id = extra.get("torchvision_weights")
    kwargs = {}
    if opts.pretrained:
        if "pretrained" in params:
            kwargs["pretrained"] = True
        elif tv_id and ("weights" in params or extra.get("kind") == "import"):
            # a torchvision builder (re-exported: its parameters are not in the hubconf)
            kwargs["weights"] = tv_id.rsplit(".", 1)[-1]
    try:
        from .torchvision_backend import weights_only_downloads

        with weights_only_downloads():
            model = torch.hub.load(f"{full}:{ref}" if ref else full, entry, trust_repo=True, verbose=False,
                                   **kwargs)
    except Exception as e:  # noqa: BLE001
        raise translate(e, row["id"]) from e
    if not isinstance(model, torch.nn.Module):
        from ..errors import NotLoadable

        raise NotLoadable(f"{row['id']}: the entrypoint returned a {type(model).__name__}, not a torch module")
    builder = tv_id.split(":", 1)[1].split(".", 1)[0] if tv_id else None
    if opts.head:
        head = list(opts.head)
    elif builder and torchvision_head(builder):
        from .torchvision_backend import head_layers

        head = head_layers(model, builder, None)
    else:
        head = last_classifier(model, row.get("num_classes"), row["id"]) if opts.num_classes is not None else []
    reset = False
    if opts.num_classes is not None:
        for path in head:
            replace_layer(model, path, opts.num_classes, row.get("num_classes"), row["id"])
        reset = True
    pre = {k: row[k] for k in ("input_size", "mean", "std", "interpolation", "crop_pct") if row.get(k) is not None}
    return Built(model=model, head=head, preprocess=pre, transform=_transform(tv_id, pre), head_reset=reset)


def _transform(tv_id: str | None, pre: dict):
    """torchvision's own preset for torchvision weights; else one built from the catalog's
    preprocessing facts, when it has them."""
    if tv_id:
        from .torchvision_backend import weights_of

        _, weights = weights_of({"id": tv_id})
        return weights.transforms()
    return eval_transform(pre)


@functools.lru_cache(maxsize=None)
def _modes():
    from torchvision.transforms import InterpolationMode

    return {m.value: m for m in InterpolationMode}


def eval_transform(pre: dict):
    """Resize, center crop, to tensor, normalize: from input_size, mean, std (crop_pct 0.875)."""
    if not (pre.get("input_size") and pre.get("mean") and pre.get("std")):
        return None
    from torchvision import transforms as T

    size = pre["input_size"][-1]
    crop_pct = pre.get("crop_pct") or 0.875
    mode = _modes().get(str(pre.get("interpolation") or "bilinear").lower(), T.InterpolationMode.BILINEAR)
    return T.Compose([T.Resize(int(round(size / crop_pct)), interpolation=mode), T.CenterCrop(size),
                      T.ToTensor(), T.Normalize(pre["mean"], pre["std"])])
