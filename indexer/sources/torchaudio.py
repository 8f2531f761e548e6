"""torchaudio: every pretrained pipeline bundle of the installed torchaudio (torchaudio.pipelines),
read offline.

A bundle is a module-level object (WAV2VEC2_BASE, HUBERT_LARGE, EMFORMER_RNNT_BASE_LIBRISPEECH,
TACOTRON2_WAVERNN_CHAR_LJSPEECH, HDEMUCS_HIGH_MUSDB_PLUS, SQUIM_OBJECTIVE, ...) holding what its
get_model() builds: the architecture's parameters or factory, the weights' path under
download.pytorch.org/torchaudio (or a full URL), the sample rate, and a documentation string that
says what it was trained on and under which license ("pre-trained on 960 hours of unlabeled audio
from *LibriSpeech* ... under MIT License and redistributed with the same license"). Parameters are
counted by building each bundle's model on the meta device (no download).

On this machine the newest torchaudio does not load its compiled library with the pinned torch:
indexer/torchcompat.py's ensure_torchaudio_importable() makes torchaudio treat it as absent, as it
does a build without it (the models and pipelines are pure Python; nothing here needs the ops).
"""

from __future__ import annotations

import re
from typing import Iterator

from ..errors import SkipRecord, SourceUnavailable
from ..normalize import canonical_dataset, normalize_license
from ..normalize.ids import id_problem, valid_id
from ..normalize.links import weights_file_url
from ..normalize.values import integer, text
from ..records import DatasetLink, ModelRecord, RepoLink, WeightsFile
from .base import FetchContext, Source, jsonable

_BASE_URL = "https://download.pytorch.org/torchaudio/"
# what each kind of bundle does, as a Hugging Face pipeline tag (None: no tag says it)
TASKS = {
    "Wav2Vec2Bundle": "feature-extraction",  # self-supervised speech representations, not fine-tuned
    "Wav2Vec2ASRBundle": "automatic-speech-recognition",
    "Wav2Vec2FABundle": "automatic-speech-recognition",  # a CTC model for forced alignment
    "RNNTBundle": "automatic-speech-recognition",
    "Tacotron2TTSBundle": "text-to-speech",
    "SourceSeparationBundle": "audio-to-audio",
    "SquimObjectiveBundle": None,  # speech quality (STOI, PESQ, SI-SDR) estimated without a reference
    "SquimSubjectiveBundle": None,  # MOS estimated against a non-matching reference
}
# the tag schema/loaders.yml's pipeline_tags refuses: bundles that are a pipeline, not one encoder
PIPELINE_TAGS = {"Tacotron2TTSBundle": "torchaudio-tts", "RNNTBundle": "torchaudio-rnnt",
                 "SourceSeparationBundle": "torchaudio-separation", "SquimObjectiveBundle": "torchaudio-squim",
                 "SquimSubjectiveBundle": "torchaudio-squim"}
_PARAM_ATTRS = ("_params", "_tacotron2_params", "_wavernn_params")
_PATH_ATTRS = ("_path", "_rnnt_path", "_model_path", "_tacotron2_path", "_wavernn_path")
_EMPHASIS = re.compile(r"\*([^*\n]{2,80})\*")
# a name the documentation cites without emphasis: "Libri-Light dataset :cite:`librilight`", "GigaSpeech :cite:`...`"
_CITED = re.compile(r"([A-Z][A-Za-z0-9-]+(?: [A-Z0-9][A-Za-z0-9-]*){0,3})(?: [Dd]ataset)?\s*:cite:")
_LICENSE = re.compile(r"(?:under|under the)\s+\[?`?([A-Za-z][A-Za-z0-9 .\-]{1,60}?(?:License|4\.0|2\.0))", re.I)


def _import_pipelines():
    from ..torchcompat import ensure_torchaudio_importable, ensure_torchvision_importable

    ensure_torchvision_importable()
    ensure_torchaudio_importable()
    import torchaudio
    from torchaudio import pipelines

    return torchaudio, pipelines


def bundle_kind(bundle) -> str:
    """The public bundle class it is (Tacotron2TTSBundle for the private _Tacotron2...Bundle)."""
    for cls in type(bundle).__mro__:
        if cls.__name__ in TASKS:
            return cls.__name__
    return type(bundle).__name__


def _models(torchaudio, bundle) -> list:
    """The modules bundle.get_model() (or get_tacotron2 and get_vocoder) would build, without weights."""
    models = torchaudio.models
    kind = bundle_kind(bundle)
    if kind.startswith("Wav2Vec2"):
        build = models.wavlm_model if getattr(bundle, "_model_type", "") == "WavLM" else models.wav2vec2_model
        return [build(**bundle._params)]
    if kind in ("RNNTBundle",):
        return [bundle._rnnt_factory_func()]
    if kind == "SourceSeparationBundle":
        return [bundle._model_factory_func()]
    if kind == "SquimObjectiveBundle":
        return [models.squim_objective_base()]
    if kind == "SquimSubjectiveBundle":
        return [models.squim_subjective_base()]
    if kind == "Tacotron2TTSBundle":
        out = [models.Tacotron2(**bundle._tacotron2_params)]
        if getattr(bundle, "_wavernn_params", None):
            out.append(models.WaveRNN(**bundle._wavernn_params))
        return out
    raise ValueError(f"no builder for {kind}")


def _count(torchaudio, bundle) -> dict:
    import warnings

    import torch

    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")
            built = _models(torchaudio, bundle)
    except Exception as e:  # noqa: BLE001 - a bundle that does not build: its size stays unknown
        return {"note": f"not built on the meta device: {type(e).__name__}: {str(e)[:200]}"}
    return {"total": sum(p.numel() for m in built for p in m.parameters())}


def bundle_raw(torchaudio, name: str, bundle) -> dict:
    """The raw record of one bundle (what normalize_torchaudio reads)."""
    return {
        "name": name,
        "kind": bundle_kind(bundle),
        "class": type(bundle).__name__,
        "doc": bundle.__doc__ or "",
        "paths": {a.lstrip("_"): getattr(bundle, a) for a in _PATH_ATTRS if isinstance(getattr(bundle, a, None), str)},
        "sample_rate": getattr(bundle, "_sample_rate", None),
        "model_type": getattr(bundle, "_model_type", None),
        "params": {a.lstrip("_"): jsonable(getattr(bundle, a)) for a in _PARAM_ATTRS if isinstance(getattr(bundle, a, None), dict)},
        "labels": len(bundle._labels) if isinstance(getattr(bundle, "_labels", None), tuple) else None,
        "parameters": _count(torchaudio, bundle),
        "torchaudio_version": getattr(torchaudio, "__version__", None),
    }


class TorchaudioSource(Source):
    name = "torchaudio"
    package = "torchaudio"

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        try:
            torchaudio, pipelines = _import_pipelines()
        except (ImportError, OSError) as e:
            raise SourceUnavailable(f"torchaudio cannot be imported ({type(e).__name__}: {e}): run the README's "
                                    "set-up (it installs torchaudio)") from e
        names = sorted(n for n in dir(pipelines) if n.isupper() and bundle_kind(getattr(pipelines, n)) in TASKS)
        for i, name in enumerate(names, 1):
            yield bundle_raw(torchaudio, name, getattr(pipelines, name))
            ctx.progress(i, len(names), "reading bundles")

    def normalize(self, raw: dict) -> ModelRecord:
        return normalize_torchaudio(raw)


# --------------------------------------------------------------------- normalization
def _what_it_says(doc: str) -> str:
    """The part of the documentation about training: before who published it."""
    return re.split(r"(?:Originally )?[Pp]ublished by|The underlying model|The model is constructed|"
                    r"The source separation model|Please refer", doc, maxsplit=1)[0]


def _named(part: str) -> list[tuple[str, str]]:
    """(canonical id, raw) of the datasets a piece of the documentation names, in order: its
    *emphasized* names and the names it cites, where they are datasets of the table."""
    found = sorted([(m.start(), m.group(1).strip()) for m in _EMPHASIS.finditer(part)]
                   + [(m.start(), m.group(1).strip()) for m in _CITED.finditer(part)])
    out, seen = [], set()
    for _, raw in found:
        ident = canonical_dataset(re.sub(r"\s+dataset$", "", raw, flags=re.I))
        if ident and ident not in seen:
            seen.add(ident)
            out.append((ident, raw))
    return out


def _datasets(doc: str) -> list[DatasetLink]:
    """The datasets of the training part, with their role: those named before "fine-tuned" were
    pre-trained on, those after fine-tuned on. A model fine-tuned on its pre-training data (or a
    subset: "... from "de" subset", "on the same audio") names one dataset: trained on it."""
    said = _what_it_says(doc)
    parts = re.split(r"fine-tuned", said, maxsplit=1, flags=re.I)
    if len(parts) == 1 or re.match(r"\s*\.", parts[1]):  # "not fine-tuned." names nothing after
        return [DatasetLink(i, "train", raw) for i, raw in _named(said)]
    pre, tuned = _named(parts[0]), _named(parts[1])
    tuned_ids = {i for i, _ in tuned}
    if not tuned or {i for i, _ in pre} == tuned_ids:
        return [DatasetLink(i, "train", raw) for i, raw in pre or tuned]
    return ([DatasetLink(i, "pretrain", raw) for i, raw in pre if i not in tuned_ids]
            + [DatasetLink(i, "finetune", raw) for i, raw in tuned])


def _license(doc: str) -> str | None:
    m = _LICENSE.search(doc.replace("\n", " "))
    return m.group(1).strip() if m else None


def _weights_url(path: str | None) -> str | None:
    if not path:
        return None
    if path.startswith(("http://", "https://")):
        return weights_file_url(path)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*", path) or ".." in path:
        return None  # not a file name under torchaudio's download folder
    # Wav2Vec2 and Tacotron2 paths are file names under models/; the others carry their folder
    return weights_file_url(_BASE_URL + (path if "/" in path else f"models/{path}"))


def _clean(doc: str) -> str:
    doc = re.split(r"\n\s*\.\. ", doc, maxsplit=1)[0]  # the examples (images, audio players) go
    doc = re.sub(r":(?:py:)?(?:class|func|cite):`~?([^`]+)`", r"\1", doc)
    doc = re.sub(r"`([^`<]+?)\s*<[^>]+>`_*", r"\1", doc)
    return re.sub(r"\s+", " ", doc.replace("*", "").replace("``", "")).strip()


def normalize_torchaudio(raw: dict) -> ModelRecord:
    name, kind = raw.get("name"), raw.get("kind")
    if not isinstance(name, str) or not isinstance(kind, str) or kind not in TASKS:
        raise SkipRecord("not a torchaudio pipeline bundle")
    if not valid_id("torchaudio", name):
        raise SkipRecord("not a valid torchaudio bundle name", id_problem("torchaudio", name))
    doc = text(raw.get("doc"), 20_000) or ""
    paths = raw.get("paths") if isinstance(raw.get("paths"), dict) else {}
    main_path = next((text(paths.get(k), 500) for k in ("path", "rnnt_path", "model_path", "tacotron2_path")
                      if text(paths.get(k), 500)), None)
    urls = [u for u in (_weights_url(text(p, 500)) for p in paths.values()) if u]
    params = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
    total = integer(params.get("total"))
    total = total if total is not None and total > 0 else None
    sample_rate = integer(raw.get("sample_rate"))
    sample_rate = sample_rate if sample_rate is not None and 0 < sample_rate <= 1_000_000 else None
    labels = integer(raw.get("labels"))
    license_raw = _license(doc)
    datasets = _datasets(doc)
    rec = ModelRecord(
        id=f"torchaudio:{name}",
        source="torchaudio",
        name=name,
        author="pytorch",
        task=TASKS[kind],
        task_raw=f"torchaudio {kind}",
        library="torchaudio",
        num_params=total,
        # the checkpoints are float32 state dicts: 4 bytes a parameter
        size_bytes=total * 4 if total else None,
        size_is_estimate=True if total else None,
        url=f"https://docs.pytorch.org/audio/stable/generated/torchaudio.pipelines.{name}.html",
        description=_clean(doc)[:4000] or None,
        tags=["audio", "speech" if kind != "SourceSeparationBundle" else "music", *(d.dataset_id for d in datasets),
              *([PIPELINE_TAGS[kind]] if kind in PIPELINE_TAGS else [])],
        architecture=text(raw.get("model_type"), 100) or kind.removesuffix("Bundle"),
        weights=name,
        num_classes=labels if labels is not None and labels > 0 else None,
        source_version=text(raw.get("torchaudio_version"), 40),
        extra={k: v for k, v in {
            "bundle_class": text(raw.get("class"), 100),
            "sample_rate": sample_rate,
            "weights_url": _weights_url(main_path),
            "load": f"torchaudio.pipelines.{name}.get_model()",
            "params_note": text(params.get("note"), 400),
        }.items() if v is not None},
        datasets=datasets,
        repos=[RepoLink("github:pytorch/audio", "https://github.com/pytorch/audio")],
    )
    rec.files = [WeightsFile(u) for u in urls]
    rec.set_license(normalize_license(license_raw))
    if license_raw is None:
        rec.extra["license_note"] = "the bundle's documentation names no license"
    return rec
