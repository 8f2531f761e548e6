"""Papers with Code's archive (the dataset repo `pwc-archive/files` on the Hub), as files for
replay.hubfiles.HubFiles.

The shapes are the archive's: gzipped JSON arrays, named as in the repository
(`jul-28-evaluation-tables.json.gz`, `jul-28-links-between-papers-and-code.json.gz`,
`jul-29-papers-with-abstracts.json.gz`). The evaluation tables follow sota-extractor's
serialization (paperswithcode/sota-extractor, taskdb/v01/schemas.py: task, datasets with `sota`
{metrics, rows}, subdatasets, subtasks); the links and papers have the columns the archive's
datasets list (pwc-archive/links-between-paper-and-code: paper_url, paper_title, paper_arxiv_id,
paper_url_abs, paper_url_pdf, repo_url, is_official, mentioned_in_paper, mentioned_in_github,
framework). The rows are real published results (the papers' own tables, as the leaderboards
listed them); values are text with a percent sign or plain numbers, as in the dumps.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import json

REPO = "pwc-archive/files"
TABLES = "jul-28-evaluation-tables.json.gz"
LINKS = "jul-28-links-between-papers-and-code.json.gz"
PAPERS = "jul-29-papers-with-abstracts.json.gz"

PWC = "https://paperswithcode.com/paper/"


def _row(model, paper_title, paper_url, date, metrics, *, code=(), extra=False):
    return {"model_name": model, "paper_title": paper_title, "paper_url": paper_url, "paper_date": date,
            "code_links": [{"title": c.rsplit("/", 1)[-1], "url": c} for c in code], "model_links": [],
            "metrics": metrics, "uses_additional_data": extra}


EFFNET = "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"
RESNET = "Deep Residual Learning for Image Recognition"
VIT = "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale"
CLIP = "Learning Transferable Visual Models From Natural Language Supervision"
DETR = "End-to-End Object Detection with Transformers"

TASKS = [
    {
        "task": "Image Classification",
        "description": "**Image Classification** is a fundamental task in vision recognition ...",
        "categories": ["Computer Vision"],
        "datasets": [{
            "dataset": "ImageNet",
            "description": "",
            "dataset_citations": [],
            "dataset_links": [{"title": "ImageNet", "url": "http://image-net.org/"}],
            "sota": {
                "metrics": ["Top 1 Accuracy", "Top 5 Accuracy", "Number of params"],
                "rows": [
                    _row("ViT-H/14", VIT, PWC + "an-image-is-worth-16x16-words-transformers-1", "2020-10-22",
                         {"Top 1 Accuracy": "88.55%", "Number of params": "632M"}, extra=True,
                         code=["https://github.com/google-research/vision_transformer"]),
                    _row("EfficientNet-B7", EFFNET, "https://arxiv.org/abs/1905.11946v5", "2019-05-28",
                         {"Top 1 Accuracy": "84.4%", "Top 5 Accuracy": "97.1%", "Number of params": "66M"},
                         code=["https://github.com/tensorflow/tpu"]),
                    _row("EfficientNet-B0", EFFNET, "https://arxiv.org/abs/1905.11946v5", "2019-05-28",
                         {"Top 1 Accuracy": "77.1%", "Top 5 Accuracy": "93.3%", "Number of params": "5.3M"}),
                    _row("ResNet-152", RESNET, "https://arxiv.org/abs/1512.03385v1", "2015-12-10",
                         {"Top 1 Accuracy": "78.57%", "Top 5 Accuracy": "94.29%", "Number of params": "60M"}),
                    _row("ResNet-50", RESNET, "https://arxiv.org/abs/1512.03385v1", "2015-12-10",
                         {"Top 1 Accuracy": "75.3%", "Top 5 Accuracy": "92.2%", "Number of params": "25M"}),
                ],
            },
            "subdatasets": [{
                "subdataset": "ImageNet ReaL",
                "sota": {"metrics": ["Accuracy"], "rows": [
                    _row("ViT-H/14", VIT, PWC + "an-image-is-worth-16x16-words-transformers-1", "2020-10-22",
                         {"Accuracy": "90.72%"}, extra=True),
                ]},
            }],
        }],
        "subtasks": [{
            "task": "Zero-Shot Transfer Image Classification",
            "description": "",
            "categories": [],
            "datasets": [{
                "dataset": "ImageNet",
                "sota": {"metrics": ["Accuracy (Private)"], "rows": [
                    _row("CLIP (ViT-L/14@336px)", CLIP, PWC + "learning-transferable-visual-models-from", "2021-02-26",
                         {"Accuracy (Private)": "76.2"}),
                ]},
            }],
            "subtasks": [],
            "synonyms": [],
            "source_link": None,
        }],
        "synonyms": [],
        "source_link": None,
    },
    {
        "task": "Object Detection",
        "description": "",
        "categories": ["Computer Vision"],
        "datasets": [{
            "dataset": "COCO minival",
            "sota": {"metrics": ["box AP", "AP50"], "rows": [
                _row("DETR-R101", DETR, PWC + "end-to-end-object-detection-with-transformers", "2020-05-26",
                     {"box AP": "44.9", "AP50": "-"}),
                # a conference paper the archive knows by its page only: no arXiv id anywhere
                _row("Faster R-CNN (VGG-16)", "Faster R-CNN: Towards Real-Time Object Detection",
                     PWC + "faster-r-cnn-towards-real-time-object-1", "2015-06-04", {"box AP": 21.9}),
                # a row without a paper stays out
                _row("Baseline (ours)", "", "", None, {"box AP": "30.1"}),
            ]},
        }],
        "subtasks": [],
        "synonyms": [],
        "source_link": None,
    },
]


def _link(paper_url, title, arxiv_id, repo_url, official, framework):
    return {"paper_url": paper_url, "paper_title": title, "paper_arxiv_id": arxiv_id,
            "paper_url_abs": f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None,
            "paper_url_pdf": f"https://arxiv.org/pdf/{arxiv_id}.pdf" if arxiv_id else None,
            "repo_url": repo_url, "is_official": official, "mentioned_in_paper": official,
            "mentioned_in_github": True, "framework": framework}


LINKS_ROWS = [
    _link(PWC + "efficientnet-rethinking-model-scaling-for", EFFNET, "1905.11946",
          "https://github.com/tensorflow/tpu", True, "tf"),
    _link(PWC + "efficientnet-rethinking-model-scaling-for", EFFNET, "1905.11946",
          "https://github.com/rwightman/pytorch-image-models", False, "pytorch"),
    _link(PWC + "an-image-is-worth-16x16-words-transformers-1", VIT, "2010.11929",
          "https://github.com/google-research/vision_transformer", True, "jax"),
    _link(PWC + "deep-residual-learning-for-image", RESNET, "1512.03385",
          "https://github.com/KaimingHe/deep-residual-networks", True, "none"),
    _link(PWC + "end-to-end-object-detection-with-transformers", DETR, "2005.12872",
          "https://github.com/facebookresearch/detr", True, "pytorch"),
    # code outside GitHub: the catalog's repositories are GitHub's
    _link(PWC + "end-to-end-object-detection-with-transformers", DETR, "2005.12872",
          "https://gitlab.com/someone/detr-port", False, "pytorch"),
    # a paper with code and no leaderboard result
    _link(PWC + "attention-is-all-you-need", "Attention Is All You Need", "1706.03762",
          "https://github.com/tensorflow/tensor2tensor", True, "tf"),
]

PAPERS_ROWS = [
    {"paper_url": PWC + "learning-transferable-visual-models-from", "arxiv_id": "2103.00020", "nips_id": None,
     "openreview_id": None, "title": CLIP, "abstract": "State-of-the-art computer vision systems are trained ...",
     "short_abstract": None, "url_abs": "https://arxiv.org/abs/2103.00020v1",
     "url_pdf": "https://arxiv.org/pdf/2103.00020v1.pdf", "proceeding": None,
     "authors": ["Alec Radford", "Jong Wook Kim"], "tasks": ["Zero-Shot Transfer Image Classification"],
     "date": "2021-02-26", "conference_url_abs": None, "conference_url_pdf": None, "conference": None,
     "reproduces_paper": None, "methods": []},
    {"paper_url": PWC + "faster-r-cnn-towards-real-time-object-1", "arxiv_id": None, "nips_id": None,
     "openreview_id": None, "title": "Faster R-CNN: Towards Real-Time Object Detection", "abstract": "",
     "short_abstract": None, "url_abs": "", "url_pdf": "", "proceeding": "neurips-2015-12",
     "authors": [], "tasks": ["Object Detection"], "date": "2015-06-04", "conference_url_abs": None,
     "conference_url_pdf": None, "conference": None, "reproduces_paper": None, "methods": []},
]


def gz(items) -> bytes:
    return gzip.compress(json.dumps(items).encode("utf-8"), mtime=0)


def archive_files(tasks=None, links=None, papers=None) -> dict[str, bytes]:
    return {TABLES: gz(TASKS if tasks is None else tasks), LINKS: gz(LINKS_ROWS if links is None else links),
            PAPERS: gz(PAPERS_ROWS if papers is None else papers)}


def tasks_copy() -> list:
    return copy.deepcopy(TASKS)


def put_archive(hub, **kw) -> str:
    """Commit the archive's files to `hub` (a HubFiles) as the dataset repo; returns the commit."""
    return hub.put_repo(REPO, archive_files(**kw), repo_type="dataset")


@contextlib.contextmanager
def serving_archive(monkeypatch):
    """A HubFiles holding the archive, HF_ENDPOINT pointing at it (online, no telemetry); yields it."""
    from huggingface_hub import constants

    from .hubfiles import HubFiles

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with HubFiles() as hub:
        put_archive(hub)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub
