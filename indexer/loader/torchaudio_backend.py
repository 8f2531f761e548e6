"""torchaudio rows (torchaudio:<BUNDLE>) of the wav2vec 2.0 family (wav2vec 2.0, HuBERT, WavLM,
XLS-R, VoxPopuli, MMS): the bundle's encoder with a new classification head on its time-averaged
features, for classification-style fine-tuning (speaker, language, keyword, emotion).

The bundle builds the model and reads its weights (`bundle.get_model(dl_kwargs=...)`, through
torch.hub's cache under TORCH_HOME) with `weights_only=True`: torch.hub's own default there is
False, which would unpickle anything. An ASR bundle's CTC layer (`aux`) is dropped; the input
normalization some bundles apply is kept. The stages are the transformer's layers (after the
convolutional feature extractor, the stem). The other bundles (text to speech, RNN-T, source
separation, SQUIM) are pipelines rather than one encoder: schema/loaders.yml refuses them with
what loads them."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import NotLoadable
from .base import Built, LoadOptions, translate


class AudioClassifier(nn.Module):
    """A wav2vec 2.0-style encoder, its features averaged over time, and a linear head (an identity
    without num_classes: the averaged features themselves)."""

    def __init__(self, encoder: nn.Module, dim: int, num_classes: int | None, normalize_waveform: bool):
        super().__init__()
        self.encoder = encoder
        self.normalize_waveform = normalize_waveform
        self.head = nn.Linear(dim, num_classes) if num_classes is not None else nn.Identity()

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.normalize_waveform:
            waveforms = nn.functional.layer_norm(waveforms, waveforms.shape)
        features, out_lengths = self.encoder(waveforms, lengths)
        if out_lengths is None:
            pooled = features.mean(dim=1)
        else:  # the mean of each clip's valid frames
            mask = (torch.arange(features.size(1), device=features.device)[None, :] < out_lengths[:, None])
            pooled = (features * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)
        return self.head(pooled)


def build(row: dict, opts: LoadOptions) -> Built:
    from ..sources.torchaudio import _import_pipelines, bundle_kind

    _, pipelines = _import_pipelines()
    name = row["id"].split(":", 1)[1]
    bundle = getattr(pipelines, name, None)
    if bundle is None:
        raise NotLoadable(f"{row['id']}: this torchaudio has no bundle {name!r} (upgrade torchaudio, or run "
                          "`modelcat refresh --source torchaudio`)")
    if not bundle_kind(bundle).startswith("Wav2Vec2"):
        raise NotLoadable(f"{row['id']}: a {bundle_kind(bundle)}, not an encoder with a head to replace: "
                          f"use torchaudio.pipelines.{name} directly")
    notes = []
    if opts.revision:
        notes.append(f"revision {opts.revision!r} ignored: torchaudio bundles have one set of weights")
    try:
        if opts.pretrained:
            model = bundle.get_model(dl_kwargs={"weights_only": True})
        else:
            from torchaudio.pipelines._wav2vec2 import utils

            model = utils._get_model(bundle._model_type, bundle._params)
    except Exception as e:  # noqa: BLE001 - translated where we know the cause, else re-raised
        raise translate(e, row["id"]) from e
    encoder = getattr(model, "model", model)  # get_model wraps some in a waveform-normalizing module
    normalize = bool(getattr(model, "normalize_waveform", False))
    if getattr(encoder, "aux", None) is not None:
        encoder.aux = None  # the ASR bundles' CTC layer: a new head replaces it
        notes.append("the bundle's CTC layer (aux) is dropped: the new head classifies the averaged features")
    dim = int(bundle._params["encoder_embed_dim"])
    classifier = AudioClassifier(encoder, dim, opts.num_classes, normalize)
    classifier.train()
    head = list(opts.head) if opts.head else (["head"] if opts.num_classes is not None else [])
    return Built(
        model=classifier,
        head=head,
        stages=None,  # tuning.find_stages: encoder.transformer.layers, the feature extractor as the stem
        preprocess={"sample_rate": int(bundle.sample_rate)},
        head_reset=opts.num_classes is not None,
        notes=notes,
    )
