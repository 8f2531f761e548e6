"""A small, hand-made GitHub + PyTorch Hub + arXiv world for the source tests, in the real shapes.

    with GitHubReplay() as gh, ArxivReplay() as ax:
        build_github(gh); build_arxiv(ax)
"""

from __future__ import annotations

from .arxiv import paper

RESNET_PAGE = """---
layout: hub_detail
background-class: hub-background
body-class: hub
title: ResNet
summary: Deep residual networks pre-trained on ImageNet
category: researchers
image: resnet.png
author: Pytorch Team
tags: [vision, scriptable]
github-link: https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py
github-id: pytorch/vision
featured_image_1: resnet.png
featured_image_2: no-image
accelerator: cuda-optional
order: 10
demo-model-link: https://huggingface.co/spaces/pytorch/ResNet
---

```python
import torch
model = torch.hub.load('pytorch/vision:v0.10.0', 'resnet18', pretrained=True)
# model = torch.hub.load('pytorch/vision:v0.10.0', 'resnet50', pretrained=True)
```

### Model Description

Resnet models were proposed in "Deep Residual Learning for Image Recognition".

### References

 - [Deep Residual Learning for Image Recognition](https://arxiv.org/abs/1512.03385)
"""

# curly quotes in the front matter, a comment, and a model from a third-party repository
TINY_PAGE = """---
layout: hub_detail
title: \u201cTinyNet\u201d
summary: Tiny image classification networks: small and fast, pre-trained on ImageNet
category: researchers
author: Acme Research
tags: [vision]
<!-- github-id: wrong/repo -->
github-link: https://github.com/acme/tinynets
github-id: acme/tinynets
accelerator: cuda-optional
---

```python
model = torch.hub.load('acme/tinynets', 'tinynet_a', pretrained=True)
model = torch.hub.load('acme/tinynets', 'tinynet_documented_only', pretrained=True)
```

See [TinyNets](https://arxiv.org/abs/2010.14819) and arXiv:2010.11929v2.
"""

SPEECH_PAGE = """---
layout: hub_detail
title: Silero Speech-To-Text Models
summary: A set of compact enterprise-grade pre-trained STT Models for multiple languages.
category: researchers
author: Silero AI Team
tags: [audio, scriptable]
github-link: https://github.com/snakers4/silero-models
github-id: snakers4/silero-models
accelerator: cpu
---

```python
model, decoder, utils = torch.hub.load(repo_or_dir='snakers4/silero-models', model='silero_stt', language='en')
```
"""

BROKEN_PAGE = "# Not a model page\n\nNo front matter here, although it is a top-level .md file.\n"
GONE_PAGE = """---
title: Gone
summary: A model whose repository was deleted
github-id: someone/deleted-repo
---
torch.hub.load('someone/deleted-repo', 'gone_model')
"""
SYNTAX_PAGE = """---
title: Broken hubconf
summary: Image classification, but the hubconf does not parse
github-id: oops/badconf
---
torch.hub.load('oops/badconf', 'net')
"""

VISION_HUBCONF = '''# Optional list of dependencies required by the package
dependencies = ["torch"]

from torchvision.models import get_weight
from torchvision.models.mobilenetv3 import mobilenet_v3_large, mobilenet_v3_small
from torchvision.models.resnet import resnet18, resnet50
from torchvision.models.detection import fasterrcnn_resnet50_fpn
from torchvision.models.optical_flow import raft_large
from torchvision.models.vision_transformer import vit_h_14
'''

# a hubconf that would run a command if anything executed it
TINY_HUBCONF = '''"""TinyNets for PyTorch Hub."""
import os
os.system("touch {marker}")
dependencies = ["torch"]
from torchvision.models import resnet50 as tinynet_teacher  # torchvision's builder, re-exported


def tinynet_a(pretrained=False, **kwargs):
    """TinyNet-A image classification model (ImageNet-1k, 5.1M parameters).

    pretrained (bool): load the ImageNet weights
    """
    return None


def tinynet_b(pretrained=False, **kwargs):
    """TinyNet-B: a slightly larger image classifier."""
    return None


def _build(cfg):
    return None
'''

SILERO_HUBCONF = '''dependencies = ["torch", "omegaconf"]
from utils import init_jit_model as _init


def silero_stt(language="en", **kwargs):
    """Silero Speech-To-Text models: speech recognition for en, de, es."""
    return None


def silero_tts(language="en", **kwargs):
    """Silero Text-To-Speech models."""
    return None
'''


# a README that names its paper twice (a link, then a versioned mention) and another one once
EFFNET_README = """# EfficientNet PyTorch

A PyTorch reimplementation of [EfficientNet](https://arxiv.org/abs/1905.11946), with pretrained weights.
Trained with AutoAugment (arXiv:1805.09501v3). Cite arXiv:1905.11946v5 if you use it.
"""


def build_github(gh, *, marker: str = "/nonexistent/marker") -> None:
    """pytorch/hub with five model pages, the repositories they name, and some search fodder."""
    gh.add_repo("pytorch/hub", files={
        "README.md": "# PyTorch Hub\n", "CONTRIBUTING.md": "How to add a model\n",
        "pytorch_vision_resnet.md": RESNET_PAGE, "acme_tinynets.md": TINY_PAGE,
        "snakers4_silero-models_stt.md": SPEECH_PAGE, "not_a_page.md": BROKEN_PAGE,
        "someone_gone.md": GONE_PAGE, "oops_badconf.md": SYNTAX_PAGE, "images/logo.png": b"\x89PNG",
    }, description="Submission to https://pytorch.org/hub", stars=1400, license=None, default_branch="master")
    gh.add_repo("pytorch/vision", files={"hubconf.py": VISION_HUBCONF, "README.md": "# torchvision"},
                description="Datasets, Transforms and Models specific to Computer Vision", stars=16000,
                license="bsd-3-clause", language="Python", topics=["computer-vision", "machine-learning"],
                default_branch="main")
    gh.add_repo("acme/tinynets", files={"hubconf.py": TINY_HUBCONF.format(marker=marker),
                                        "README.md": "Pretrained tiny image classification models in PyTorch"},
                description="Tiny pretrained image classification models in PyTorch", stars=420, license="mit",
                language="Python", topics=["pytorch", "image-classification", "pretrained-models"])
    gh.add_repo("snakers4/silero-models", files={"hubconf.py": SILERO_HUBCONF}, stars=5000, license="NOASSERTION",
                description="Silero Models: pre-trained speech-to-text, text-to-speech models",
                language="Jupyter Notebook", topics=["speech-recognition", "pytorch", "pretrained-models"])
    gh.add_repo("oops/badconf", files={"hubconf.py": "def net(:\n    pass\n"}, stars=3, license="apache-2.0",
                language="Python")
    # found by search only
    gh.add_repo("lukemelas/EfficientNet-PyTorch", files={"hubconf.py": "def efficientnet_b0(pretrained=True):\n"
                                                           "    '''EfficientNet B0 image classifier.'''\n",
                                                           "README.md": EFFNET_README},
                description="A PyTorch implementation of EfficientNet, with pretrained ImageNet weights",
                stars=7800, license="apache-2.0", language="Python",
                topics=["pytorch", "image-classification", "imagenet", "pretrained-models"])
    gh.add_repo("someone/pretrained-classifiers-archive", description="Pretrained image classification models (PyTorch)",
                stars=12, license="gpl-3.0", language="Python", archived=True,
                topics=["pytorch", "image-classification", "pretrained-models"])
    gh.add_repo("tf/keras-zoo", description="Pretrained image classification models for Keras", stars=900,
                license="mit", language="Python", topics=["keras", "image-classification", "pretrained-models"])
    gh.add_repo("facebookresearch/deit", description="Official DeiT repository", stars=4000, license="apache-2.0",
                language="Python", topics=["vision-transformer", "pytorch", "image-classification"],
                files={"README.md": "# DeiT\nData-efficient Image Transformers, [arXiv](https://arxiv.org/abs/2012.12877)."})
    gh.add_repo("google-research/vision_transformer", description="Vision Transformer and MLP-Mixer", stars=10000,
                license="apache-2.0", language="Jupyter Notebook", topics=["vision-transformer"])


def build_arxiv(ax) -> None:
    ax.add(paper("1512.03385", title="Deep Residual Learning for Image Recognition",
                 authors=["Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"],
                 abstract="Deeper neural networks are more difficult to train. We present a residual learning "
                          "framework ... on the ImageNet dataset.",
                 published="2015-12-10T19:51:55Z", categories=["cs.CV"], primary_category="cs.CV"))
    ax.add(paper("2010.11929", version=2, title="An Image is Worth 16x16 Words: Transformers for Image "
                 "Recognition at Scale", authors=["Alexey Dosovitskiy", "Łukasz Kaiser", "Jürgen Schmidhuber"],
                 abstract="While the Transformer architecture has become the de-facto standard ... Fine-tuning "
                          "code and pre-trained models are available at "
                          "https://github.com/google-research/vision_transformer",
                 published="2020-10-22T17:55:59Z", categories=["cs.CV", "cs.AI", "cs.LG"],
                 primary_category="cs.CV", comment="ICLR 2021"))
    ax.add(paper("2012.12877", title="Training data-efficient image transformers & distillation through attention",
                 authors=["Hugo Touvron"], abstract="We produce competitive convolution-free transformers.",
                 published="2020-12-23T18:42:10Z", categories=["cs.CV"], primary_category="cs.CV",
                 comment="Code: https://github.com/facebookresearch/deit", doi="10.48550/arXiv.2012.12877",
                 journal_ref="ICML 2021"))
    ax.add(paper("2010.14819", title="Model Rubik's Cube: Twisting Resolution, Depth and Width for TinyNets",
                 authors=["Kai Han"], abstract="Tiny networks for image classification.",
                 published="2020-10-28T03:12:52Z", categories=["cs.CV"], primary_category="cs.CV"))
    ax.add(paper("cs/0112017", title="An old-style paper", authors=["A. Author"], abstract="Old.",
                 published="2001-12-14T00:00:00Z", categories=["cs.LG"], primary_category="cs.LG"))
