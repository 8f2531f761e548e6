"""How well a model's features suit the user's own data: LogME (`modelcat recommend --data`).

LogME (You et al., "LogME: Practical Assessment of Pre-trained Models for Transfer Learning",
ICML 2021) scores features F (n samples x d) against labels y without training anything: for each
class, a Bayesian linear regression from the features to that class's 0/1 indicator, with a
Gaussian prior on the weights (precision alpha) and Gaussian noise (precision beta); alpha and beta
maximize the evidence p(y | F, alpha, beta) by the paper's fixed-point iteration, and the score
is the maximized log evidence per sample, averaged over the classes. Higher is better; the
paper shows it ranks pretrained models as their fine-tuned accuracy does.

The evidence is computed from one SVD of F (evidence()), so the cost is that of the SVD, whatever
the number of classes. `features()` reads a folder in ImageFolder layout (one sub-folder per class)
and extracts each image's features with the model the loader builds (the input of its
classification head), under the model's own preprocessing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import ModelcatError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
ITERATIONS = 11  # the paper's fixed-point steps (it converges in a few)
_TINY = 1e-12


def evidence(u: np.ndarray, s2: np.ndarray, d: int, y: np.ndarray, alpha: float, beta: float) -> tuple[float, dict]:
    """log p(y | F, alpha, beta) of the Bayesian linear regression y = F w + noise, w ~ N(0, I/alpha),
    noise ~ N(0, I/beta), from F's thin SVD (u: its left singular vectors, s2: its squared singular
    values; d: F's columns), and the parts the fixed point needs (gamma, |m|^2, |y - F m|^2).

        log p = d/2 log a + n/2 log b - 1/2 log|A| - b/2 |y - F m|^2 - a/2 |m|^2 - n/2 log 2 pi
        A = a I + b F'F,   m = b A^-1 F' y   (the posterior mean)"""
    n = y.shape[0]
    x = u.T @ y  # y in F's column space
    outside = max(float(y @ y - x @ x), 0.0)  # what no weights can reach
    t = alpha + beta * s2
    gamma = float((beta * s2 / t).sum())
    m2 = float((beta * beta * s2 * x * x / (t * t)).sum())
    res2 = float(((alpha * x / t) ** 2).sum()) + outside
    logdet = float(np.log(t).sum()) + (d - s2.shape[0]) * math.log(alpha)
    value = (d / 2 * math.log(alpha) + n / 2 * math.log(beta) - logdet / 2 - beta / 2 * res2
             - alpha / 2 * m2 - n / 2 * math.log(2 * math.pi))
    return value, {"gamma": gamma, "m2": m2, "res2": res2}


def _maximized(u: np.ndarray, s2: np.ndarray, d: int, y: np.ndarray) -> tuple[float, float, float]:
    """(log evidence, alpha, beta) at the paper's fixed point: alpha = gamma / |m|^2,
    beta = (n - gamma) / |y - F m|^2, from alpha = beta = 1."""
    n = y.shape[0]
    alpha, beta = 1.0, 1.0
    for _ in range(ITERATIONS):
        _, p = evidence(u, s2, d, y, alpha, beta)
        new_alpha = min(max(p["gamma"] / max(p["m2"], _TINY), _TINY), 1 / _TINY)
        new_beta = min(max((n - p["gamma"]) / max(p["res2"], _TINY), _TINY), 1 / _TINY)
        done = abs(new_alpha / new_beta - alpha / beta) / (alpha / beta) < 0.01
        alpha, beta = new_alpha, new_beta
        if done:
            break
    return evidence(u, s2, d, y, alpha, beta)[0], alpha, beta


def logme(features: Any, labels: Any) -> float:
    """The LogME score of these features (n x d) for these class labels (n): the maximized log
    evidence per sample, averaged over the classes (one-vs-rest indicators)."""
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if f.ndim != 2 or y.ndim != 1 or f.shape[0] != y.shape[0]:
        raise ValueError(f"features must be n x d and labels n: got {f.shape} and {y.shape}")
    if not np.isfinite(f).all():
        raise ValueError("the features hold NaN or infinite values")
    classes = np.unique(y)
    if f.shape[0] < 2 or classes.shape[0] < 2:
        raise ValueError("LogME needs at least two samples of at least two classes")
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    s2 = s * s
    n, d = f.shape
    return float(np.mean([_maximized(u, s2, d, (y == k).astype(np.float64))[0] / n for k in classes]))


# ---------------------------------------------------------------------- the user's images
def image_folder(folder: str | os.PathLike, limit: int) -> tuple[list[tuple[Path, int]], list[str]]:
    """(images, classes) of a folder in ImageFolder layout: each sub-folder a class (sorted by
    name), its image files the class's samples. At most `limit` images, as even across the
    classes as they allow, in a fixed order (the same folder gives the same sample)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ModelcatError(f"--data {folder}: not a folder. Give a folder with one sub-folder of images per "
                            "class (ImageFolder layout: data/cats/1.jpg, data/dogs/2.jpg)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    per_class = {c: sorted(p for p in (root / c).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
                 for c in classes}
    classes = [c for c in classes if per_class[c]]
    if len(classes) < 2:
        raise ModelcatError(f"--data {folder}: {len(classes)} class sub-folder(s) with images; LogME needs at least "
                            "two (ImageFolder layout: one sub-folder of images per class)")
    picked: list[tuple[Path, int]] = []
    rank = 0
    while len(picked) < limit and any(rank < len(per_class[c]) for c in classes):
        for i, c in enumerate(classes):  # round robin: each class's next image
            if rank < len(per_class[c]) and len(picked) < limit:
                picked.append((per_class[c][rank], i))
        rank += 1
    return picked, classes


def folder_key(images: list[tuple[Path, int]]) -> str:
    """What the features of a sample depend on in the folder: each image's path, class, size and
    modification time."""
    h = hashlib.blake2b(digest_size=12)
    for path, label in images:
        st = path.stat()
        h.update(f"{path}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _transform(ft) -> Callable:
    """A PIL image -> the model's input tensor: the library's eval transform where the loader
    gives one, a transformers image processor, else the catalog's preprocessing (resize the short
    side to size / crop_pct, center crop, normalize)."""
    import torch

    if ft.transform is not None:
        return ft.transform
    if ft.processor is not None and callable(ft.processor):
        return lambda im: ft.processor(images=im, return_tensors="pt")["pixel_values"][0]
    pre = ft.preprocess or {}
    size = pre.get("input_size") or [3, 224, 224]
    h, w = int(size[-2]), int(size[-1])
    crop = float(pre.get("crop_pct") or 0.875)
    mean = torch.tensor(pre.get("mean") or [0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = torch.tensor(pre.get("std") or [0.229, 0.224, 0.225]).view(-1, 1, 1)

    def apply(im):
        from PIL import Image

        scale = max(h, w) / crop / min(im.size)
        im = im.resize((max(w, round(im.size[0] * scale)), max(h, round(im.size[1] * scale))), Image.BICUBIC)
        left, top = (im.size[0] - w) // 2, (im.size[1] - h) // 2
        im = im.crop((left, top, left + w, top + h))
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
        return (x - mean) / std

    return apply


def features(ft, images: list[tuple[Path, int]], *, batch_size: int = 32,
             progress: Callable[[int], None] | None = None) -> np.ndarray:
    """The features (n x d, float32) of these images: what the model's classification head receives
    (its first module's input, flattened), in inference mode on the model's device."""
    import torch
    from PIL import Image

    from .loader.base import get_submodule

    head = get_submodule(ft.model, ft.head[0]) if ft.head else None
    if head is None:
        raise ModelcatError(f"{ft.catalog_id}: the loader names no classification head to read features before")
    seen: list = []
    hook = head.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    transform = _transform(ft)
    out = []
    was_training = ft.model.training
    ft.model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = []
                for path, _ in images[start:start + batch_size]:
                    try:
                        with Image.open(path) as im:
                            batch.append(transform(im.convert("RGB")))
                    except (OSError, ValueError) as e:
                        raise ModelcatError(f"--data: cannot read the image {path}: {e}") from None
                x = torch.stack(batch).to(ft.device, dtype=ft.dtype)
                seen.clear()
                ft.model(x)
                if not seen:
                    raise ModelcatError(f"{ft.catalog_id}: its head {ft.head[0]} was not reached by the forward pass")
                f = seen[0]
                if f.dim() == 4:  # a head that pools itself: (n, channels, h, w), averaged over the map
                    f = f.mean((2, 3))
                elif f.dim() == 3:  # (n, tokens, width): averaged over the tokens
                    f = f.mean(1)
                f = f.flatten(1)
                out.append(f.float().cpu().numpy())
                if progress:
                    progress(len(batch))
    finally:
        hook.remove()
        ft.model.train(was_training)
    return np.concatenate(out, axis=0)


def cached_features(cache: Path, key: dict, make: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
    """(features, whether they came from the cache): kept as .npy under `cache`, by a hash of `key`;
    a cache that cannot be written is no error (the features are made again next time)."""
    name = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=16).hexdigest()
    path = cache / f"{name}.npy"
    try:
        return np.load(path, allow_pickle=False), True
    except (OSError, ValueError):
        pass
    f = make()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.save(fh, f, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # no half-written file left behind
            tmp.unlink(missing_ok=True)
    return f, False
