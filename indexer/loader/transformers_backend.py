"""Hugging Face repositories of library transformers (hf:<repo>): the AutoModelFor... class of
the row's task, a new head through num_labels, and the repository's processor or tokenizer."""

from __future__ import annotations

import logging

from ..errors import LoadError, NotLoadable, UntrustedCode, WeightsUnavailable
from ..torchcompat import ensure_torchvision_importable
from .base import Built, LoadOptions, translate

log = logging.getLogger("modelcat.loader")

# task (Hub pipeline tag) -> the Auto classes to try, in order; tasks in CLASS_TASKS take num_labels
AUTO_CLASSES = {
    "image-classification": ("AutoModelForImageClassification",),
    "text-classification": ("AutoModelForSequenceClassification",),
    "zero-shot-classification": ("AutoModelForSequenceClassification",),
    "token-classification": ("AutoModelForTokenClassification",),
    "audio-classification": ("AutoModelForAudioClassification",),
    "video-classification": ("AutoModelForVideoClassification",),
    "multiple-choice": ("AutoModelForMultipleChoice",),
    "question-answering": ("AutoModelForQuestionAnswering",),
    "fill-mask": ("AutoModelForMaskedLM",),
    "text-generation": ("AutoModelForCausalLM",),
    "text2text-generation": ("AutoModelForSeq2SeqLM",),
    "translation": ("AutoModelForSeq2SeqLM",),
    "summarization": ("AutoModelForSeq2SeqLM",),
    "object-detection": ("AutoModelForObjectDetection",),
    "image-segmentation": ("AutoModelForSemanticSegmentation", "AutoModelForImageSegmentation",
                           "AutoModelForUniversalSegmentation"),
    "depth-estimation": ("AutoModelForDepthEstimation",),
    "automatic-speech-recognition": ("AutoModelForSpeechSeq2Seq", "AutoModelForCTC"),
    "image-text-to-text": ("AutoModelForImageTextToText",),
    "image-to-text": ("AutoModelForImageTextToText",),
    "visual-question-answering": ("AutoModelForVisualQuestionAnswering", "AutoModelForImageTextToText"),
    "document-question-answering": ("AutoModelForDocumentQuestionAnswering", "AutoModelForImageTextToText"),
    "table-question-answering": ("AutoModelForTableQuestionAnswering",),
    "text-to-audio": ("AutoModelForTextToWaveform", "AutoModelForTextToSpectrogram"),
    "text-to-speech": ("AutoModelForTextToWaveform", "AutoModelForTextToSpectrogram"),
    "keypoint-detection": ("AutoModelForKeypointDetection",),
    "image-to-image": ("AutoModelForImageToImage",),
    "zero-shot-image-classification": ("AutoModelForZeroShotImageClassification",),
    "zero-shot-object-detection": ("AutoModelForZeroShotObjectDetection",),
    "mask-generation": ("AutoModelForMaskGeneration",),
}
def auto_classes(task: str | None) -> tuple[str, ...]:
    """The Auto classes to try for a task, the task's own first; the base AutoModel last (a model
    whose architecture has no class for the task still loads, without a task head)."""
    own = AUTO_CLASSES.get(task, ())
    return own + ("AutoModel",) if "AutoModel" not in own else own


CLASS_TASKS = frozenset({"image-classification", "text-classification", "token-classification",
                         "audio-classification", "video-classification", "object-detection",
                         "image-segmentation"})


def _remote_code(e: BaseException) -> bool:
    return "trust_remote_code" in str(e)


def build(row: dict, opts: LoadOptions) -> Built:
    ensure_torchvision_importable()
    import transformers

    repo = row.get("hf_hub_id") or row["name"]
    task = row.get("task")
    if opts.num_classes is not None and task not in CLASS_TASKS:
        raise LoadError(f"{row['id']}: num_classes needs a classification model, and this row's task is "
                        f"{task or 'unknown'}; load it with num_classes=None (or pick a classification row)")
    # with num_classes the task's own class or nothing: a base model has no head to replace
    names = AUTO_CLASSES[task] if opts.num_classes is not None else auto_classes(task)
    kwargs = {"trust_remote_code": opts.trust_remote_code}
    if opts.revision:
        kwargs["revision"] = opts.revision
    if opts.num_classes is not None:
        labels = {i: f"LABEL_{i}" for i in range(opts.num_classes)}  # the old task's names do not apply
        kwargs.update(num_labels=opts.num_classes, id2label=labels, label2id={v: k for k, v in labels.items()},
                      ignore_mismatched_sizes=True)
    last = None
    model = None
    for name in names:
        auto = getattr(transformers, name, None)
        if auto is None:
            continue
        try:
            model = auto.from_pretrained(repo, **kwargs)
            break
        except ValueError as e:  # this Auto class does not know the config: try the next one
            if _remote_code(e):
                raise _untrusted(row) from e
            if "Unrecognized configuration class" not in str(e):
                raise translate(e, row["id"], repo) from e
            last = e
        except Exception as e:  # noqa: BLE001
            if _remote_code(e):
                raise _untrusted(row) from e
            err = translate(e, row["id"], repo)
            if err is e and isinstance(e, OSError) and "does not appear to have a file named" in str(e):
                err = WeightsUnavailable(f"{row['id']}: {str(e).splitlines()[0]} (the repository holds no weights "
                                         "transformers can read; pick another row)")
            raise err from e
    if model is None:
        raise NotLoadable(f"{row['id']}: transformers {transformers.__version__} has no "
                          f"{' / '.join(names)} for this repository's architecture ({last})")
    notes = []
    if name == "AutoModel" and task in AUTO_CLASSES:
        notes.append(f"transformers has no {' / '.join(AUTO_CLASSES[task])} for this architecture: "
                     "loaded as the base model, without a task head")
    base = getattr(model, model.base_model_prefix, None) if model.base_model_prefix else None
    if opts.head:
        head = list(opts.head)
    elif base is not None and base is not model:
        # everything outside the base model is the task head (classifier, score, lm_head, ...)
        head = [n for n, _ in model.named_children() if n != model.base_model_prefix
                and any(True for _ in getattr(model, n).parameters())]
    else:
        head = []
    if opts.num_classes is not None:
        # a head whose size already matched was loaded, not re-initialized: the issue asks for a new one
        for name in head:
            _reinit(model, getattr(model, name))
    processor = _processor(repo, opts)
    return Built(model=model, head=head, preprocess=_preprocess(processor), processor=processor,
                 head_reset=opts.num_classes is not None, notes=notes)


def _reinit(model, head) -> None:
    """Initialize a head afresh as transformers initializes new heads: normal(0, initializer_range)
    weights, zero biases. (Its own _init_weights skips parameters it has marked as loaded.)"""
    import torch

    std = getattr(model.config, "initializer_range", None) or 0.02
    with torch.no_grad():
        for m in head.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.modules.conv._ConvNd)):
                m.weight.normal_(0.0, std)
                if m.bias is not None:
                    m.bias.zero_()
            elif hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False)):
                m.reset_parameters()


def _untrusted(row: dict) -> UntrustedCode:
    return UntrustedCode(f"{row['id']} needs its repository's own Python code (trust_remote_code). It is not "
                         "run by default: read the code on the Hub, then pass trust_remote_code=True "
                         "(`modelcat load --trust-remote-code`) if you trust it")


def _processor(repo: str, opts: LoadOptions):
    """The repository's processor (image processor, tokenizer, feature extractor), or None."""
    from transformers import AutoProcessor

    kwargs = {"trust_remote_code": opts.trust_remote_code}
    if opts.revision:
        kwargs["revision"] = opts.revision
    try:
        return AutoProcessor.from_pretrained(repo, **kwargs)
    except Exception as e:  # noqa: BLE001 - many repositories ship none; the model still loads
        log.info("no processor for %s: %s", repo, str(e).splitlines()[0] if str(e) else type(e).__name__)
        return None


def _preprocess(processor) -> dict:
    """input_size / mean / std / interpolation from an image processor, when there is one."""
    image = getattr(processor, "image_processor", processor)
    out = {}
    if image is None:
        return out
    mean, std = getattr(image, "image_mean", None), getattr(image, "image_std", None)
    if mean is not None and std is not None:
        out["mean"], out["std"] = [float(x) for x in mean], [float(x) for x in std]
    size = getattr(image, "crop_size", None) or getattr(image, "size", None)
    get = size.get if isinstance(size, dict) else (lambda k: getattr(size, k, None))
    h = get("height") or get("shortest_edge")
    w = get("width") or get("shortest_edge")
    if h and w:
        out["input_size"] = [3, int(h), int(w)]
    resample = getattr(image, "resample", None)
    if resample is not None:
        out["interpolation"] = _PIL_FILTERS.get(resample, getattr(resample, "name", str(resample)).lower())
    return out


# PIL's resampling filters by number (image processors store them as ints)
_PIL_FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
