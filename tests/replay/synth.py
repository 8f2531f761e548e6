"""Deterministic synthetic-but-realistic Hub model records (the model_info shape, i.e. what
`GET /api/models?expand=...` returns plus `siblings`).

    synthetic_models(n, seed=0) -> list[dict]

The same (n, seed) always gives the same records. The mix follows the Hub: ~5% timm repos (every
20th record), transformers models for vision, text and audio, LLMs (some gated, with base_model
relations), sentence-transformers, diffusers pipelines (no `safetensors` key), GGUF quantizations,
PEFT adapters, plus a few % of odd-but-real records (see ODD_CASES). Records are fresh objects:
callers may mutate them.
"""

from __future__ import annotations

import bisect
import datetime
import gc
import random
import time

__all__ = ["synthetic_models", "TIMM_NAMES", "TIMM_PARAMS", "ODD_CASES"]

# ------------------------------------------------------------------------------------------ timm
# (arch.pretrained_tag, parameter count, license, arxiv ids)
_TIMM = [
    ("resnet18.a1_in1k", 11689512, "apache-2.0", ("2110.00476", "1512.03385")),
    ("resnet18.tv_in1k", 11689512, "bsd-3-clause", ("1512.03385",)),
    ("resnet34.a1_in1k", 21797672, "apache-2.0", ("2110.00476", "1512.03385")),
    ("resnet50.a1_in1k", 25557032, "apache-2.0", ("2110.00476", "1512.03385")),
    ("resnet50.tv_in1k", 25557032, "bsd-3-clause", ("1512.03385",)),
    ("resnet50.fb_ssl_yfcc100m_ft_in1k", 25557032, "cc-by-nc-4.0", ("1905.00546", "1512.03385")),
    ("resnet50.fb_swsl_ig1b_ft_in1k", 25557032, "cc-by-nc-4.0", ("1905.00546", "1512.03385")),
    ("resnet101.a1h_in1k", 44549160, "apache-2.0", ("2110.00476", "1512.03385")),
    ("resnet152.a1h_in1k", 60192808, "apache-2.0", ("2110.00476", "1512.03385")),
    ("wide_resnet50_2.racm_in1k", 68883240, "apache-2.0", ("1605.07146", "1512.03385")),
    ("resnext50_32x4d.a1h_in1k", 25028904, "apache-2.0", ("2110.00476", "1611.05431")),
    ("seresnext50_32x4d.racm_in1k", 27559896, "apache-2.0", ("1709.01507", "1611.05431")),
    ("vit_base_patch16_224.augreg2_in21k_ft_in1k", 86567656, "apache-2.0", ("2106.10270", "2010.11929")),
    ("vit_base_patch16_224.augreg_in21k", 102595923, "apache-2.0", ("2106.10270", "2010.11929")),
    ("vit_small_patch16_224.augreg_in21k_ft_in1k", 22050664, "apache-2.0", ("2106.10270", "2010.11929")),
    ("vit_tiny_patch16_224.augreg_in21k_ft_in1k", 5717416, "apache-2.0", ("2106.10270", "2010.11929")),
    ("vit_large_patch16_224.augreg_in21k_ft_in1k", 304326632, "apache-2.0", ("2106.10270", "2010.11929")),
    ("vit_small_patch14_dinov2.lvd142m", 22056576, "apache-2.0", ("2304.07193", "2010.11929")),
    ("vit_base_patch14_dinov2.lvd142m", 86580480, "apache-2.0", ("2304.07193", "2010.11929")),
    ("convnext_tiny.fb_in22k_ft_in1k", 28589128, "apache-2.0", ("2201.03545",)),
    ("convnext_tiny.fb_in1k", 28589128, "apache-2.0", ("2201.03545",)),
    ("convnext_small.fb_in22k_ft_in1k", 50223688, "apache-2.0", ("2201.03545",)),
    ("convnext_base.fb_in22k_ft_in1k", 88591464, "apache-2.0", ("2201.03545",)),
    ("convnext_large.fb_in22k_ft_in1k", 197767336, "apache-2.0", ("2201.03545",)),
    ("efficientnet_b0.ra_in1k", 5288548, "apache-2.0", ("2110.00476", "1905.11946")),
    ("efficientnet_b1.ft_in1k", 7794184, "apache-2.0", ("1905.11946",)),
    ("efficientnet_b2.ra_in1k", 9109994, "apache-2.0", ("2110.00476", "1905.11946")),
    ("efficientnet_b3.ra2_in1k", 12233232, "apache-2.0", ("2110.00476", "1905.11946")),
    ("tf_efficientnetv2_s.in21k_ft_in1k", 21458488, "apache-2.0", ("2104.00298",)),
    ("mobilenetv3_large_100.ra_in1k", 5483032, "apache-2.0", ("2110.00476", "1905.02244")),
    ("mobilenetv3_small_100.lamb_in1k", 2542856, "apache-2.0", ("2110.00476", "1905.02244")),
    ("regnety_040.ra3_in1k", 20646656, "apache-2.0", ("2003.13678",)),
    ("deit_base_patch16_224.fb_in1k", 86567656, "apache-2.0", ("2012.12877",)),
    ("deit_small_patch16_224.fb_in1k", 22050664, "apache-2.0", ("2012.12877",)),
    ("swin_base_patch4_window7_224.ms_in22k_ft_in1k", 87768224, "mit", ("2103.14030",)),
    ("swin_tiny_patch4_window7_224.ms_in1k", 28288354, "mit", ("2103.14030",)),
    ("beit_base_patch16_224.in22k_ft_in22k_in1k", 86530984, "apache-2.0", ("2106.08254",)),
    ("densenet121.tv_in1k", 7978856, "bsd-3-clause", ("1608.06993",)),
    ("inception_v3.tv_in1k", 23834568, "bsd-3-clause", ("1512.00567",)),
    ("mixer_b16_224.goog_in21k_ft_in1k", 59880472, "apache-2.0", ("2105.01601",)),
    ("rexnet_100.nav_in1k", 4796186, "mit", ("2007.00992",)),
    ("hrnet_w18.ms_aug_in1k", 21299004, "mit", ("1908.07919",)),
    ("dla34.in1k", 15742104, "bsd-3-clause", ("1707.06484",)),
    ("ghostnet_100.in1k", 5183088, "apache-2.0", ("1911.11907",)),
    ("mobilevit_s.cvnets_in1k", 5578632, "other", ("2110.02178",)),
    ("edgenext_small.usi_in1k", 5586832, "mit", ("2206.10589",)),
    ("levit_128s.fb_dist_in1k", 7780000, "apache-2.0", ("2104.01136",)),
]
TIMM_NAMES: list[str] = [t[0] for t in _TIMM]
TIMM_PARAMS: dict[str, int] = {t[0]: t[1] for t in _TIMM}

ODD_CASES = (
    "no_card_data", "license_list", "license_other_known", "license_other_unknown",
    "unknown_pipeline_tag", "pipeline_tag_only_in_tags", "card_data_string", "disabled",
    "no_library_name", "arxiv_tags", "unknown_dataset", "legacy_id",
)

_DTYPE_BYTES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "BF16": 2, "F16": 2, "I16": 2, "U8": 1, "I8": 1,
                "F8_E4M3": 1, "BOOL": 1}

# --------------------------------------------------------------------------------------- owners
_FIRST = ["alex", "maria", "deep", "neural", "tiny", "open", "smart", "fast", "data", "ml", "kim", "li",
          "ravi", "sofia", "jonas", "yuki", "omar", "lena", "chen", "ana", "vision", "text", "audio",
          "quant", "lora", "hf", "ai", "nlp", "bio", "med"]
_SECOND = ["lab", "ai", "nlp", "vision", "research", "dev", "hub", "works", "ml", "models", "x", "bot",
           "studio", "team", "group", "01", "42", "99", "2024", "hq"]


def _user_pool() -> list[str]:
    r = random.Random(20240601)
    pool, seen = [], set()
    for a in _FIRST:
        for b in _SECOND:
            sep = r.choice(("", "-", "_", ""))
            name = f"{a}{sep}{b}"
            if r.random() < 0.3:
                name += str(r.randint(1, 999))
            if name not in seen:
                seen.add(name)
                pool.append(name)
    r.shuffle(pool)
    return pool


_USERS = _user_pool()

# ------------------------------------------------------------------------------------ templates
_VIT_DATASETS = ["imagefolder", "cifar10", "beans", "food101", "imagenet-1k", "eurosat", "cifar100",
                 "oxford-iiit-pet"]
# base model, arch, params, license, arxiv
_BERTS = [
    ("google-bert/bert-base-uncased", "bert", 109482240, "apache-2.0", "1810.04805"),
    ("google-bert/bert-base-cased", "bert", 108310272, "apache-2.0", "1810.04805"),
    ("distilbert/distilbert-base-uncased", "distilbert", 66362880, "apache-2.0", "1910.01108"),
    ("FacebookAI/roberta-base", "roberta", 124645632, "mit", "1907.11692"),
    ("FacebookAI/xlm-roberta-base", "xlm-roberta", 278043648, "mit", "1911.02116"),
    ("microsoft/deberta-v3-base", "deberta-v2", 184421376, "mit", "2111.09543"),
    ("albert/albert-base-v2", "albert", 11683584, "apache-2.0", "1909.11942"),
    ("google/electra-small-discriminator", "electra", 13548800, "apache-2.0", "2003.10555"),
]
# task, dataset, config, metric type, metric name, value range, transformers auto class
_TEXT_TASKS = [
    ("text-classification", "glue", "sst2", "accuracy", "Accuracy", (0.85, 0.95), "AutoModelForSequenceClassification", "Text Classification"),
    ("text-classification", "imdb", "plain_text", "accuracy", "Accuracy", (0.88, 0.95), "AutoModelForSequenceClassification", "Text Classification"),
    ("fill-mask", "wikitext", "wikitext-103-raw-v1", "perplexity", "Perplexity", (3.0, 12.0), "AutoModelForMaskedLM", "Masked Language Modeling"),
    ("token-classification", "conll2003", "conll2003", "f1", "F1", (0.88, 0.95), "AutoModelForTokenClassification", "Token Classification"),
    ("question-answering", "squad", "plain_text", "f1", "F1", (80.0, 92.0), "AutoModelForQuestionAnswering", "Question Answering"),
    ("question-answering", "squad_v2", "squad_v2", "exact_match", "Exact Match", (70.0, 85.0), "AutoModelForQuestionAnswering", "Question Answering"),
]
# owner/name, arch, params, license, license_name, gated, langs
_LLM_BASES = [
    ("meta-llama/Llama-3.1-8B", "llama", 8030261248, "llama3.1", None, "manual", ["en", "de", "fr", "it", "pt", "hi", "es", "th"]),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama", 8030261248, "llama3.1", None, "manual", ["en", "de", "fr", "it", "pt", "hi", "es", "th"]),
    ("meta-llama/Llama-3.2-1B", "llama", 1235814400, "llama3.2", None, "manual", ["en"]),
    ("meta-llama/Llama-3.2-3B-Instruct", "llama", 3212749824, "llama3.2", None, "manual", ["en"]),
    ("meta-llama/Meta-Llama-3-8B", "llama", 8030261248, "llama3", None, "manual", ["en"]),
    ("meta-llama/Llama-3.3-70B-Instruct", "llama", 70553706496, "llama3.3", None, "manual", ["en"]),
    ("mistralai/Mistral-7B-v0.1", "mistral", 7241732096, "apache-2.0", None, False, ["en"]),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", 7248023552, "apache-2.0", None, "auto", ["en"]),
    ("Qwen/Qwen2.5-0.5B", "qwen2", 494032768, "apache-2.0", None, False, ["en", "zh"]),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2", 7615616512, "apache-2.0", None, False, ["en", "zh"]),
    ("Qwen/Qwen2.5-72B-Instruct", "qwen2", 72706203648, "other", "qwen", False, ["en", "zh"]),
    ("google/gemma-2-2b", "gemma2", 2614341888, "gemma", None, "manual", []),
    ("google/gemma-2-9b-it", "gemma2", 9241705984, "gemma", None, "manual", []),
    ("microsoft/Phi-3-mini-4k-instruct", "phi3", 3821079552, "mit", None, False, ["en"]),
    ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", 1100048384, "apache-2.0", None, False, ["en"]),
    ("EleutherAI/pythia-1b", "gpt_neox", 1011781632, "apache-2.0", None, False, ["en"]),
    ("tiiuae/falcon-7b", "falcon", 6921720704, "apache-2.0", None, False, ["en"]),
]
_LLM_SUFFIX = ["sft", "dpo", "orpo", "chat", "instruct", "math", "code", "medical", "legal", "finance",
               "roleplay", "merged", "uncensored", "ko", "ja", "de", "fr", "tr", "vi", "es", "ft"]
_LLM_DATASETS = ["HuggingFaceH4/ultrachat_200k", "tatsu-lab/alpaca", "Open-Orca/OpenOrca",
                 "HuggingFaceH4/ultrafeedback_binarized", "teknium/OpenHermes-2.5", "gsm8k",
                 "meta-math/MetaMathQA", "timdettmers/openassistant-guanaco"]
_ST_BASES = [
    ("sentence-transformers/all-MiniLM-L6-v2", "bert", {"I64": 512, "F32": 22713216}),
    ("sentence-transformers/all-mpnet-base-v2", "mpnet", {"F32": 109486464}),
    ("BAAI/bge-base-en-v1.5", "bert", {"F32": 109482240}),
    ("BAAI/bge-small-en-v1.5", "bert", {"F32": 33360000}),
    ("intfloat/e5-large-v2", "bert", {"F32": 335141888}),
    ("intfloat/multilingual-e5-base", "xlm-roberta", {"F32": 278043648}),
]
_ST_DATASETS = ["sentence-transformers/all-nli", "ms_marco", "snli", "multi_nli", "sentence-transformers/stsb",
                "embedding-data/QQP", "natural_questions"]
_SD_BASES = [
    ("runwayml/stable-diffusion-v1-5", "creativeml-openrail-m", "StableDiffusionPipeline", "stable-diffusion"),
    ("CompVis/stable-diffusion-v1-4", "creativeml-openrail-m", "StableDiffusionPipeline", "stable-diffusion"),
    ("stabilityai/stable-diffusion-2-1", "openrail++", "StableDiffusionPipeline", "stable-diffusion"),
    ("stabilityai/stable-diffusion-xl-base-1.0", "openrail++", "StableDiffusionXLPipeline", "stable-diffusion-xl"),
]
_SD_STYLES = ["anime", "pixel-art", "watercolor", "realistic", "portrait", "landscape", "logo", "comic",
              "cyberpunk", "3d-render", "sketch", "fantasy", "interior", "product-photo"]
_GGUF_QUANTS = [("Q2_K", 0.33), ("Q3_K_M", 0.44), ("Q4_K_M", 0.56), ("Q5_K_M", 0.66), ("Q6_K", 0.78),
                ("Q8_0", 1.06)]
_ASR = [
    ("facebook/wav2vec2-base", "wav2vec2", {"F32": 94395552}, "apache-2.0", "wer"),
    ("facebook/wav2vec2-large-xlsr-53", "wav2vec2", {"F32": 315438720}, "apache-2.0", "wer"),
    ("openai/whisper-small", "whisper", {"F32": 241734912}, "apache-2.0", "wer"),
    ("openai/whisper-large-v3", "whisper", {"F16": 1543490560}, "apache-2.0", "wer"),
]
_ASR_DATASETS = [("librispeech_asr", "clean"), ("openslr/librispeech_asr", "clean"),
                 ("mozilla-foundation/common_voice_11_0", None), ("common_voice", None),
                 ("mozilla-foundation/common_voice_17_0", None), ("google/fleurs", None)]
_ASR_LANGS = ["en", "de", "fr", "es", "it", "nl", "pt", "tr", "ar", "hi", "ja", "sw", "uk", "pl"]
# misc: (pipeline_tag, library, arch, base, params, license, dataset, auto class)
_MISC = [
    ("summarization", "transformers", "t5", "google-t5/t5-small", {"F32": 60506624}, "apache-2.0", "cnn_dailymail", "AutoModelForSeq2SeqLM"),
    ("text2text-generation", "transformers", "t5", "google/flan-t5-base", {"F32": 247577856}, "apache-2.0", "samsum", "AutoModelForSeq2SeqLM"),
    ("translation", "transformers", "marian", "Helsinki-NLP/opus-mt-en-de", {"F32": 73886208}, "cc-by-4.0", "opus100", "AutoModelForSeq2SeqLM"),
    ("object-detection", "transformers", "detr", "facebook/detr-resnet-50", {"F32": 41578400}, "apache-2.0", "detection-datasets/coco", "AutoModelForObjectDetection"),
    ("image-segmentation", "transformers", "segformer", "nvidia/mit-b0", {"F32": 3715584}, "other", "scene_parse_150", "AutoModelForSemanticSegmentation"),
    ("zero-shot-image-classification", "open_clip", "clip", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", {"F32": 151277313}, "mit", "laion/laion2B-en", None),
    ("reinforcement-learning", "stable-baselines3", None, None, None, "mit", None, None),
    ("tabular-classification", "sklearn", None, None, None, "mit", "scikit-learn/iris", None),
]

# category weights (timm is every 20th record, outside these)
_CATS = [("vit", 6), ("bert", 19), ("llm", 22), ("st", 8), ("sd", 7), ("gguf", 9), ("peft", 9), ("audio", 6),
         ("misc", 9)]
_CAT_NAMES = [c for c, _ in _CATS]
_CAT_CUM = []
_acc = 0
for _c, _w in _CATS:
    _acc += _w
    _CAT_CUM.append(_acc)
_CAT_TOTAL = _acc
_SPAN_S = 730 * 86400  # createdAt spread over two years after `start`


def _pick(r: random.Random, seq):
    return seq[int(r.random() * len(seq))]


def _rr(r: random.Random, a: int, b: int) -> int:
    """randrange(a, b), cheaper (and not bit-for-bit the stdlib's)."""
    return a + int(r.random() * (b - a))


def _ri(r: random.Random, a: int, b: int) -> int:
    return a + int(r.random() * (b - a + 1))


_DAY_CACHE: dict[int, str] = {}


def _iso(ms: int) -> str:
    s, m = divmod(ms, 1000)
    d, sod = divmod(s, 86400)
    day = _DAY_CACHE.get(d)
    if day is None:
        t = time.gmtime(d * 86400)
        day = _DAY_CACHE[d] = "%04d-%02d-%02dT" % (t.tm_year, t.tm_mon, t.tm_mday)
    h, rem = divmod(sod, 3600)
    mi, sec = divmod(rem, 60)
    return "%s%02d:%02d:%02d.%03dZ" % (day, h, mi, sec, m)


def _weights_bytes(params: dict) -> int:
    return sum(n * _DTYPE_BYTES.get(d, 4) for d, n in params.items())


def _eval_results(seed: int) -> list[dict]:
    """`evalResults` as the Hub's API returns it for a repository with `.eval_results/*.yaml` files
    (huggingface_hub's ModelInfo.eval_results reads the same): an entry per file under `data`, one
    file that failed the Hub's validation as `error`, a benchmark scored with and without tools."""
    hle, gpqa = 5 + seed % 2000 / 100, 0.25 + seed % 4000 / 10000
    return [
        {"filename": ".eval_results/hle.yaml", "data": {
            "dataset": {"id": "cais/hle", "task_id": "hle"}, "value": round(hle, 2),
            "source": {"url": "https://huggingface.co/spaces/example/hle-logs", "name": "Eval logs", "user": "evaluator"}}},
        {"filename": ".eval_results/hle_with_tools.yaml", "data": {
            "dataset": {"id": "cais/hle", "task_id": "hle"}, "value": round(hle * 1.8, 2), "notes": "With tools",
            "date": "2025-01-15"}},
        {"filename": ".eval_results/gpqa.yaml", "data": {
            "dataset": {"id": "Idavidrein/gpqa", "task_id": "gpqa_diamond", "revision": "a" * 40},
            "value": round(gpqa, 3), "verifyToken": "eyJhbGciOiJIUzI1NiJ9.e30.sig"}},
        {"filename": ".eval_results/broken.yaml", "error": "Invalid eval results file: 'value' is required"},
    ]


def _model_index(name: str, task: str, task_name: str, dataset: str, config, split: str,
                 metric: str, metric_name: str, value: float) -> list:
    ds = {"name": dataset, "type": dataset}
    if config:
        ds["config"] = config
    ds["split"] = split
    if config:
        ds["args"] = config
    return [{"name": name, "results": [{"task": {"name": task_name, "type": task}, "dataset": ds,
                                        "metrics": [{"name": metric_name, "type": metric,
                                                     "value": round(value, 4), "verified": False}]}]}]


class _Gen:
    def __init__(self, n: int, seed: int, start: str):
        self.n, self.seed = n, seed
        self.r = random.Random(seed)
        dt = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        self.start_ms = int(dt.timestamp() * 1000)
        self.step_ms = max(1000.0, _SPAN_S * 1000.0 / max(n, 1))
        self.seen: set[str] = set()
        self.next_k: dict[str, int] = {}
        self.timm_next = 0
        self.anchor_used: set[str] = set()

    # -- helpers
    def user(self) -> str:
        r = self.r
        if r.random() < 0.7:  # a few heavy uploaders
            return _USERS[int(len(_USERS) * r.random() ** 3)]
        return _USERS[int(r.random() * len(_USERS))]

    def unique(self, repo_id: str) -> str:
        if repo_id not in self.seen:
            self.seen.add(repo_id)
            return repo_id
        k = self.next_k.get(repo_id, 2)
        while f"{repo_id}-{k}" in self.seen:
            k += 1
        self.next_k[repo_id] = k + 1
        repo_id = f"{repo_id}-{k}"
        self.seen.add(repo_id)
        return repo_id

    def anchor(self, repo_id: str) -> bool:
        """True (once) when the real-looking `repo_id` is still free."""
        if repo_id in self.anchor_used or repo_id in self.seen:
            return False
        self.anchor_used.add(repo_id)
        return True

    def popularity(self, boost: float = 1.0) -> tuple[int, int, int]:
        r = self.r
        downloads = int((r.paretovariate(0.75) - 1.0) * 8 * boost)
        downloads = min(downloads, 120_000_000)
        likes = int((downloads ** 0.5) * r.random() * 0.25) if downloads else (1 if r.random() < 0.1 else 0)
        trending = int(likes * r.random() * 0.05) if r.random() < 0.2 else 0
        return downloads, likes, trending

    # -- categories: each returns (repo_id, fields)
    def timm(self):
        r = self.r
        if self.timm_next < len(_TIMM):
            name, params, lic, arxiv = _TIMM[self.timm_next]
            self.timm_next += 1
            repo_id = self.unique(f"timm/{name}")
            boost = 200
        else:
            name, params, lic, arxiv = _TIMM[int(r.random() * len(_TIMM))]
            repo_id = self.unique(f"{self.user()}/{name}-{_pick(r, ('ft', 'ft-cifar10', 'ft-food101', 'distilled'))}")
            boost = 1
        datasets = ["imagenet-1k"]
        tag = name.split(".", 1)[1]
        if "in21k" in tag or "in22k" in tag:
            datasets.append("imagenet-21k" if "in21k" in tag else "imagenet-22k")
        if "yfcc100m" in tag:
            datasets.append("yfcc100m")
        feature = "dinov2" in name or tag.endswith("in21k")
        if "lvd142m" in tag:
            datasets = []
        task = "image-feature-extraction" if feature else "image-classification"
        tags = ["timm", "pytorch", "safetensors", task, "transformers"]
        tags += [f"dataset:{d}" for d in datasets]
        tags += [f"arxiv:{a}" for a in arxiv]
        tags += [f"license:{lic}", "region:us"]
        card = {"tags": [task, "timm", "transformers"], "library_name": "timm", "license": lic}
        if datasets:
            card["datasets"] = list(datasets)
        if lic == "other":
            card["license_name"] = "apple-ascl"
            card["license_link"] = "LICENSE"
        weights = 4 * params
        return repo_id, {
            "library_name": "timm", "pipeline_tag": task, "tags": tags, "cardData": card,
            "safetensors": {"parameters": {"F32": params}, "total": params},
            "usedStorage": 2 * weights + _rr(r, 4096, 65536),
            "siblings": [".gitattributes", "README.md", "config.json", "model.safetensors", "pytorch_model.bin"],
            "config": {"architecture": name.split(".", 1)[0], "num_classes": 1000 if not feature else 0,
                       "num_features": 768},
            "_boost": boost,
        }

    def vit(self):
        r = self.r
        anchors = ["google/vit-base-patch16-224", "google/vit-large-patch16-224", "google/vit-base-patch32-384"]
        for a in anchors:
            if self.anchor(a):
                params = {"F32": 86567656} if "base-patch16" in a else (
                    {"F32": 304351208} if "large" in a else {"F32": 88297192})
                tags = ["transformers", "pytorch", "tf", "jax", "safetensors", "vit", "image-classification",
                        "vision", "dataset:imagenet-1k", "dataset:imagenet-21k", "arxiv:2010.11929",
                        "arxiv:2006.03677", "license:apache-2.0", "autotrain_compatible", "endpoints_compatible",
                        "region:us"]
                self.seen.add(a)
                return a, self._vit_fields(params, tags, {"license": "apache-2.0", "tags": ["vision", "image-classification"],
                                                          "datasets": ["imagenet-1k", "imagenet-21k"]}, 30000)
        ds = _pick(r, _VIT_DATASETS)
        base = "google/vit-base-patch16-224-in21k"
        repo_id = self.unique(f"{self.user()}/vit-base-patch16-224-in21k-finetuned-{ds.split('-')[0]}")
        num_labels = {"cifar10": 10, "beans": 3, "food101": 101, "imagenet-1k": 1000, "eurosat": 10,
                      "cifar100": 100, "oxford-iiit-pet": 37}.get(ds, _ri(r, 2, 20))
        n_params = 85798656 + num_labels * 769
        name = repo_id.split("/", 1)[1]
        acc = r.uniform(0.8, 0.99)
        mi = _model_index(name, "image-classification", "Image Classification", ds, "default", "train",
                          "accuracy", "Accuracy", acc)
        tags = ["transformers", "tensorboard", "safetensors", "vit", "image-classification", "generated_from_trainer",
                f"dataset:{ds}", f"base_model:{base}", f"base_model:finetune:{base}", "license:apache-2.0",
                "model-index", "autotrain_compatible", "endpoints_compatible", "region:us"]
        card = {"library_name": "transformers", "license": "apache-2.0", "base_model": base,
                "tags": ["generated_from_trainer"], "datasets": [ds], "metrics": ["accuracy"], "model-index": mi}
        fields = self._vit_fields({"F32": n_params}, tags, card, 1)
        fields["model-index"] = mi
        return repo_id, fields

    def _vit_fields(self, params, tags, card, boost):
        total = sum(params.values())
        return {
            "library_name": "transformers", "pipeline_tag": "image-classification", "tags": tags, "cardData": card,
            "safetensors": {"parameters": params, "total": total},
            "usedStorage": _weights_bytes(params) * (1 + _rr(self.r, 0, 3)) + _rr(self.r, 10_000, 900_000),
            "siblings": [".gitattributes", "README.md", "config.json", "model.safetensors", "preprocessor_config.json",
                         "training_args.bin"],
            "config": {"architectures": ["ViTForImageClassification"], "model_type": "vit"},
            "transformersInfo": {"auto_model": "AutoModelForImageClassification", "pipeline_tag": "image-classification",
                                 "processor": "AutoImageProcessor"},
            "_boost": boost,
        }

    def bert(self):
        r = self.r
        base, arch, params, lic, arxiv = _BERTS[int(r.random() * len(_BERTS))]
        task, ds, cfg, metric, metric_name, (lo, hi), auto, task_name = _TEXT_TASKS[int(r.random() * len(_TEXT_TASKS))]
        short = base.split("/", 1)[1]
        repo_id = self.unique(f"{self.user()}/{short}-finetuned-{ds.replace('_', '-')}")
        name = repo_id.split("/", 1)[1]
        extra = {"text-classification": 769 * 2, "fill-mask": 0, "token-classification": 769 * 9,
                 "question-answering": 769 * 2}[task]
        n = params + extra
        p = {"F32": n} if r.random() < 0.8 else {"I64": 512, "F32": n}
        tags = ["transformers", "pytorch" if r.random() < 0.5 else "tensorboard", "safetensors", arch, task,
                "generated_from_trainer"]
        card = {"library_name": "transformers", "license": lic, "base_model": base, "tags": ["generated_from_trainer"]}
        if r.random() < 0.3:
            tags.append("en")
            card["language"] = ["en"]
        with_ds = r.random() < 0.85
        if with_ds:
            tags.append(f"dataset:{ds}")
            card["datasets"] = [ds]
        if r.random() < 0.15:
            tags.append(f"arxiv:{arxiv}")
        tags += [f"base_model:{base}", f"base_model:finetune:{base}", f"license:{lic}"]
        mi = None
        if with_ds and r.random() < 0.7:
            mi = _model_index(name, task, task_name, ds, cfg, "validation", metric, metric_name, r.uniform(lo, hi))
            card["model-index"] = mi
            card["metrics"] = [metric]
            tags.append("model-index")
        tags += ["autotrain_compatible", "endpoints_compatible", "region:us"]
        fields = {
            "library_name": "transformers", "pipeline_tag": task, "tags": tags, "cardData": card,
            "safetensors": {"parameters": p, "total": sum(p.values())},
            "usedStorage": _weights_bytes(p) * _ri(r, 1, 3) + _rr(r, 100_000, 2_000_000),
            "siblings": [".gitattributes", "README.md", "config.json", "model.safetensors", "special_tokens_map.json",
                         "tokenizer.json", "tokenizer_config.json", "training_args.bin", "vocab.txt"],
            "config": {"architectures": [f"{arch.title().replace('-', '')}For{auto[12:]}"], "model_type": arch},
            "transformersInfo": {"auto_model": auto, "pipeline_tag": task, "processor": "AutoTokenizer"},
            "mask_token": "[MASK]" if task == "fill-mask" else None,
        }
        if fields["mask_token"] is None:
            del fields["mask_token"]
        if mi is not None:
            fields["model-index"] = mi
        return repo_id, fields

    def _llm_base(self):
        return _LLM_BASES[int(len(_LLM_BASES) * self.r.random() ** 1.5)]

    def llm(self):
        r = self.r
        for base in _LLM_BASES:
            if self.anchor(base[0]):
                repo_id, arch, params, lic, lic_name, gated, langs = base
                self.seen.add(repo_id)
                return repo_id, self._llm_fields(arch, {"BF16": params}, lic, lic_name, gated, langs, None, None, 50000)
        repo_id, arch, params, lic, lic_name, _, langs = self._llm_base()
        short = repo_id.split("/", 1)[1]
        kind = r.random()
        if kind < 0.12:  # bitsandbytes 4-bit quantization (safetensors with mixed dtypes)
            new_id = self.unique(f"{self.user()}/{short}-bnb-4bit")
            packed = params // 4
            p = {"F32": 266240, "BF16": params // 8, "U8": packed}
            relation = "quantized"
        elif kind < 0.2:
            new_id = self.unique(f"{self.user()}/{short}-merged-{_pick(r, _LLM_SUFFIX)}")
            p = {"BF16": params}
            relation = "merge"
        else:
            new_id = self.unique(f"{self.user()}/{short}-{_pick(r, _LLM_SUFFIX)}")
            p = {"BF16": params} if r.random() < 0.85 else {"F16": params} if r.random() < 0.7 else {"F32": params}
            relation = "finetune"
        gated = "auto" if r.random() < 0.03 else ("manual" if r.random() < 0.01 else False)
        if lic in ("llama3.1", "llama3", "llama3.2", "llama3.3") and r.random() < 0.2:
            lic, lic_name = "other", "llama3"  # some fine-tunes re-declare the base license this way
        return new_id, self._llm_fields(arch, p, lic, lic_name, gated, langs[:1], repo_id, relation, 1)

    def _llm_fields(self, arch, p, lic, lic_name, gated, langs, base, relation, boost):
        r = self.r
        tags = ["transformers", "safetensors", arch, "text-generation"]
        if r.random() < 0.7:
            tags.append("conversational")
        tags += list(langs)
        card = {"library_name": "transformers", "license": lic, "pipeline_tag": "text-generation"}
        if langs:
            card["language"] = list(langs)
        if lic_name:
            card["license_name"] = lic_name
            card["license_link"] = "LICENSE"
        if base is not None:
            ds = _pick(r, _LLM_DATASETS)
            if r.random() < 0.5:
                tags.append(f"dataset:{ds}")
                card["datasets"] = [ds]
            card["base_model"] = base
            tags += [f"base_model:{base}", f"base_model:{relation}:{base}"]
            if relation == "quantized":
                tags += ["4-bit", "bitsandbytes"]
            if relation == "merge":
                tags += ["mergekit", "merge"]
                card["tags"] = ["mergekit", "merge"]
            else:
                card["tags"] = [_pick(r, ["trl", "sft", "unsloth", "llama-factory", "axolotl"])]
        if r.random() < 0.1:
            tags.append(f"arxiv:{_pick(r, ('2305.18290', '2106.09685', '2402.03300', '2403.07691'))}")
        tags += [f"license:{lic}", "autotrain_compatible", "text-generation-inference", "endpoints_compatible",
                 "region:us"]
        if gated:
            card["extra_gated_prompt"] = "You agree to the license and the acceptable use policy."
            card["extra_gated_fields"] = {"First Name": "text", "Last Name": "text", "Country": "country"}
        total = sum(p.values())
        shards = max(1, _weights_bytes(p) // 4_900_000_000 + 1)
        sib = [".gitattributes", "README.md", "config.json", "generation_config.json"]
        if shards == 1:
            sib.append("model.safetensors")
        else:
            sib += [f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)]
            sib.append("model.safetensors.index.json")
        sib += ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
        fields = {}
        if base is None:  # an original model publishes benchmark scores (.eval_results/*.yaml); no rng drawn
            fields["evalResults"] = _eval_results(total)
        return fields | {
            "library_name": "transformers", "pipeline_tag": "text-generation", "tags": tags, "cardData": card,
            "gated": gated, "safetensors": {"parameters": p, "total": total},
            "usedStorage": _weights_bytes(p) * _ri(r, 1, 2) + _rr(r, 1_000_000, 20_000_000),
            "siblings": sib,
            "config": {"architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                                          "qwen2": "Qwen2ForCausalLM", "gemma2": "Gemma2ForCausalLM",
                                          "phi3": "Phi3ForCausalLM", "gpt_neox": "GPTNeoXForCausalLM",
                                          "falcon": "FalconForCausalLM"}.get(arch, "AutoModelForCausalLM")],
                       "model_type": arch},
            "transformersInfo": {"auto_model": "AutoModelForCausalLM", "pipeline_tag": "text-generation",
                                 "processor": "AutoTokenizer"},
            "_boost": boost,
        }

    def st(self):
        r = self.r
        base, arch, params = _ST_BASES[int(r.random() * len(_ST_BASES))]
        short = base.split("/", 1)[1]
        repo_id = self.unique(f"{self.user()}/{short}-{_pick(r, ('ft', 'legal', 'medical', 'code', 'finance', 'matryoshka', 'nli', 'de', 'fr'))}")
        pt = "sentence-similarity" if r.random() < 0.75 else "feature-extraction"
        dsets = r.sample(_ST_DATASETS, _ri(r, 0, 2))
        tags = ["sentence-transformers", "safetensors", arch, "feature-extraction", "sentence-similarity"]
        if r.random() < 0.5:
            tags += ["generated_from_trainer", f"dataset_size:{_pick(r, ('1K<n<10K', '10K<n<100K', '100K<n<1M'))}",
                     "loss:MultipleNegativesRankingLoss"]
        tags += [f"dataset:{d}" for d in dsets]
        if r.random() < 0.3:
            tags.append("arxiv:1908.10084")
        tags += [f"base_model:{base}", f"base_model:finetune:{base}", "license:apache-2.0", "autotrain_compatible",
                 "text-embeddings-inference", "endpoints_compatible", "region:us"]
        card = {"library_name": "sentence-transformers", "pipeline_tag": pt, "license": "apache-2.0",
                "base_model": base, "tags": ["sentence-transformers", "feature-extraction", "sentence-similarity"]}
        if dsets:
            card["datasets"] = dsets
        if r.random() < 0.3:
            v = r.uniform(0.7, 0.9)
            mi = _model_index(repo_id.split("/", 1)[1], "semantic-similarity", "Semantic Similarity",
                              "sts dev", None, "dev", "pearson_cosine", "Pearson Cosine", v)
            mi[0]["results"][0]["dataset"] = {"name": "sts dev", "type": "sts-dev"}
            card["model-index"] = mi
            tags.insert(-4, "model-index")
        p = dict(params)
        return repo_id, {
            "library_name": "sentence-transformers", "pipeline_tag": pt, "tags": tags, "cardData": card,
            "safetensors": {"parameters": p, "total": sum(p.values())},
            "usedStorage": _weights_bytes(p) + _rr(r, 1_000_000, 5_000_000),
            "siblings": [".gitattributes", "1_Pooling/config.json", "README.md", "config.json",
                         "config_sentence_transformers.json", "model.safetensors", "modules.json",
                         "sentence_bert_config.json", "tokenizer.json", "tokenizer_config.json"],
            "config": {"architectures": [f"{arch.title().replace('-', '')}Model"], "model_type": arch},
            "transformersInfo": {"auto_model": "AutoModel", "pipeline_tag": "feature-extraction",
                                 "processor": "AutoTokenizer"},
        }

    def sd(self):
        r = self.r
        base, lic, pipe, family = _SD_BASES[int(r.random() * len(_SD_BASES))]
        style = _pick(r, _SD_STYLES)
        lora = r.random() < 0.5
        card = {"license": lic, "tags": [family, "text-to-image", "diffusers"], "library_name": "diffusers"}
        if lora:
            repo_id = self.unique(f"{self.user()}/{style}-{'sdxl' if 'xl' in base else 'sd'}-lora")
            tags = ["diffusers", "text-to-image", family, "lora", "template:sd-lora", f"base_model:{base}",
                    f"base_model:adapter:{base}", f"license:{lic}", "region:us"]
            card["tags"] = ["text-to-image", family, "lora", "diffusers", "template:sd-lora"]
            card["base_model"] = base
            card["instance_prompt"] = f"a photo in {style} style"
            sib = [".gitattributes", "README.md", "pytorch_lora_weights.safetensors"]
            storage = _rr(r, 3_000_000, 400_000_000)
        else:
            repo_id = self.unique(f"{self.user()}/{style}-diffusion")
            tags = ["diffusers", "safetensors", family, f"{family}-diffusers", "text-to-image"]
            if r.random() < 0.5:
                tags += [f"base_model:{base}", f"base_model:finetune:{base}"]
                card["base_model"] = base
            if r.random() < 0.2:
                tags.append("arxiv:2112.10752")
            tags += [f"license:{lic}", "autotrain_compatible", "endpoints_compatible", f"diffusers:{pipe}", "region:us"]
            sib = [".gitattributes", "README.md", "model_index.json", "scheduler/scheduler_config.json",
                   "text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/merges.txt",
                   "tokenizer/vocab.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                   "vae/config.json", "vae/diffusion_pytorch_model.safetensors"]
            storage = _rr(r, 2_000_000_000, 14_000_000_000)
        return repo_id, {
            "library_name": "diffusers", "pipeline_tag": "text-to-image", "tags": tags, "cardData": card,
            "usedStorage": storage, "siblings": sib,
            "config": {"diffusers": {"_class_name": pipe}} if not lora else None,
        }

    def gguf(self):
        r = self.r
        base, arch, params, lic, lic_name, _, langs = self._llm_base()
        short = base.split("/", 1)[1]
        owner = _pick(r, ("bartowski", "TheBloke", "QuantFactory", "mradermacher", "lmstudio-community",
                          "unsloth")) if r.random() < 0.4 else self.user()
        repo_id = self.unique(f"{owner}/{short}-GGUF")
        quants = _GGUF_QUANTS if r.random() < 0.5 else r.sample(_GGUF_QUANTS, _ri(r, 1, 3))
        sib = [".gitattributes", "README.md"] + [f"{short}-{q}.gguf" for q, _ in quants]
        storage = sum(int(params * f) for _, f in quants)
        lib = "gguf" if r.random() < 0.6 else "transformers"
        tags = (["gguf", arch] if lib == "gguf" else ["transformers", "gguf", arch]) + ["text-generation"]
        tags += list(langs[:1])
        tags += [f"base_model:{base}", f"base_model:quantized:{base}", f"license:{lic}", "endpoints_compatible",
                 "region:us"]
        if r.random() < 0.6:
            tags.append("conversational")
        card = {"license": lic, "base_model": base, "pipeline_tag": "text-generation", "quantized_by": owner}
        if lic_name:
            card["license_name"] = lic_name
        if langs:
            card["language"] = langs[:1]
        return repo_id, {
            "library_name": lib, "pipeline_tag": "text-generation", "tags": tags, "cardData": card,
            "usedStorage": storage, "siblings": sib,
            "gguf": {"total": params + _rr(r, 0, 1000), "architecture": arch,
                     "context_length": _pick(r, (4096, 8192, 32768, 131072))},
        }

    def peft(self):
        r = self.r
        base, arch, params, lic, lic_name, _, langs = self._llm_base()
        short = base.split("/", 1)[1]
        repo_id = self.unique(f"{self.user()}/{short}-{_pick(r, ('lora', 'qlora', 'adapter', 'sft-lora'))}")
        tags = ["peft", "safetensors", _pick(r, ("trl", "sft", "generated_from_trainer", "unsloth")),
                f"base_model:{base}", f"base_model:adapter:{base}"]
        if r.random() < 0.5:
            tags.append("lora")
        tags += [f"license:{lic}", "region:us"]
        card = {"library_name": "peft", "license": lic, "base_model": base}
        if lic_name:
            card["license_name"] = lic_name
        fields = {"library_name": "peft", "tags": tags, "cardData": card,
                  "usedStorage": _rr(r, 2_000_000, 700_000_000),
                  "siblings": [".gitattributes", "README.md", "adapter_config.json", "adapter_model.safetensors",
                               "tokenizer.json", "tokenizer_config.json", "training_args.bin"]}
        if r.random() < 0.6:
            fields["pipeline_tag"] = "text-generation"
            tags.insert(1, "text-generation")
            card["pipeline_tag"] = "text-generation"
        return repo_id, fields

    def audio(self):
        r = self.r
        base, arch, params, lic, metric = _ASR[int(r.random() * len(_ASR))]
        ds, cfg = _ASR_DATASETS[int(r.random() * len(_ASR_DATASETS))]
        lang = "en" if "librispeech" in ds else _pick(r, _ASR_LANGS)
        short = base.split("/", 1)[1]
        repo_id = self.unique(f"{self.user()}/{short}-{lang}")
        mi = _model_index(repo_id.split("/", 1)[1], "automatic-speech-recognition", "Automatic Speech Recognition",
                          ds, cfg or lang, "test", "wer", "Wer", r.uniform(5, 40))
        tags = ["transformers", "pytorch" if r.random() < 0.5 else "tensorboard", "safetensors", arch,
                "automatic-speech-recognition", "generated_from_trainer", lang, f"dataset:{ds}",
                f"base_model:{base}", f"base_model:finetune:{base}", f"license:{lic}", "model-index",
                "endpoints_compatible", "region:us"]
        card = {"language": [lang], "license": lic, "base_model": base, "tags": ["generated_from_trainer"],
                "datasets": [ds], "metrics": ["wer"], "model-index": mi}
        p = dict(params)
        return repo_id, {
            "library_name": "transformers", "pipeline_tag": "automatic-speech-recognition", "tags": tags,
            "cardData": card, "model-index": mi,
            "safetensors": {"parameters": p, "total": sum(p.values())},
            "usedStorage": _weights_bytes(p) * _ri(r, 1, 3) + _rr(r, 100_000, 5_000_000),
            "siblings": [".gitattributes", "README.md", "config.json", "model.safetensors",
                         "preprocessor_config.json", "training_args.bin", "vocab.json"],
            "config": {"architectures": [f"{arch.title()}ForCTC" if arch == "wav2vec2"
                                         else "WhisperForConditionalGeneration"], "model_type": arch},
            "transformersInfo": {"auto_model": "AutoModelForCTC" if arch == "wav2vec2" else "AutoModelForSpeechSeq2Seq",
                                 "pipeline_tag": "automatic-speech-recognition", "processor": "AutoProcessor"},
        }

    def misc(self):
        r = self.r
        task, lib, arch, base, params, lic, ds, auto = _MISC[int(r.random() * len(_MISC))]
        if base:
            repo_id = self.unique(f"{self.user()}/{base.split('/', 1)[1]}-{_pick(r, ('finetuned', 'ft', 'v2', 'custom'))}")
        else:
            repo_id = self.unique(f"{self.user()}/{_pick(r, ('ppo', 'dqn', 'a2c', 'rf', 'xgb'))}-{_pick(r, ('LunarLander-v2', 'CartPole-v1', 'iris', 'titanic'))}")
        tags = [lib]
        if params:
            tags.append("safetensors")
        if arch:
            tags.append(arch)
        tags.append(task)
        if ds:
            tags.append(f"dataset:{ds}")
        if base:
            tags += [f"base_model:{base}", f"base_model:finetune:{base}"]
        tags += [f"license:{lic}", "region:us"]
        card = {"library_name": lib, "license": lic, "tags": [task]}
        if ds:
            card["datasets"] = [ds]
        if lic == "other":
            card["license_name"] = "nvidia-source-code-license"
        fields = {"library_name": lib, "pipeline_tag": task, "tags": tags, "cardData": card,
                  "siblings": [".gitattributes", "README.md"] + (["config.json", "model.safetensors"] if params else ["model.pkl"])}
        if params:
            p = dict(params)
            fields["safetensors"] = {"parameters": p, "total": sum(p.values())}
            fields["usedStorage"] = _weights_bytes(p) + _rr(r, 100_000, 5_000_000)
        else:
            fields["usedStorage"] = _rr(r, 10_000, 50_000_000)
        if auto:
            fields["transformersInfo"] = {"auto_model": auto, "pipeline_tag": task, "processor": "AutoTokenizer"}
        return repo_id, fields

    # -- odd cases (applied in place on a built record)
    def odd(self, case: str, rec: dict) -> None:
        r = self.r
        card = rec.get("cardData")
        tags = rec["tags"]
        if case == "no_card_data":
            rec.pop("cardData", None)
        elif case == "license_list":
            lics = ["mit", "apache-2.0"]
            if isinstance(card, dict):
                card["license"] = lics
            else:
                rec["cardData"] = {"license": lics}
            tags[:] = [t for t in tags if not t.startswith("license:")] + ["license:mit", "license:apache-2.0"]
        elif case in ("license_other_known", "license_other_unknown"):
            name = "llama3" if case == "license_other_known" else "my-custom-license"
            if not isinstance(card, dict):
                card = rec["cardData"] = {}
            card.update(license="other", license_name=name, license_link="LICENSE")
            tags[:] = [t for t in tags if not t.startswith("license:")] + ["license:other"]
        elif case == "unknown_pipeline_tag":
            old = rec.get("pipeline_tag")
            rec["pipeline_tag"] = "quantum-teleportation"
            tags[:] = [t for t in tags if t != old]
            tags.insert(1, "quantum-teleportation")
        elif case == "pipeline_tag_only_in_tags":
            pt = rec.pop("pipeline_tag", None) or "text-classification"
            if pt not in tags:
                tags.insert(1, pt)
            if isinstance(card, dict):
                card.pop("pipeline_tag", None)
            if isinstance(rec.get("transformersInfo"), dict):
                rec["transformersInfo"] = dict(rec["transformersInfo"])
                rec["transformersInfo"].pop("pipeline_tag", None)
        elif case == "card_data_string":
            rec["cardData"] = "license: mit\ntags:\n- not parsed as YAML by the Hub"
        elif case == "disabled":
            rec["disabled"] = True
        elif case == "no_library_name":
            rec.pop("library_name", None)
            if isinstance(card, dict):
                card.pop("library_name", None)
        elif case == "arxiv_tags":
            new = [f"arxiv:{a}" for a in r.sample(("1706.03762", "2005.14165", "2307.09288", "2106.09685",
                                                   "2203.02155", "1910.10683"), 2)]
            pos = next((i for i, t in enumerate(tags) if t.startswith(("base_model:", "license:"))), len(tags))
            tags[pos:pos] = [t for t in new if t not in tags]
        elif case == "unknown_dataset":
            ds = _pick(r, ("someorg/private-set", "my-company/internal-data-v2", "local_csv"))
            if not isinstance(card, dict):
                card = rec["cardData"] = {}
            card["datasets"] = list(card.get("datasets") or []) + [ds]
            pos = next((i for i, t in enumerate(tags) if t.startswith(("arxiv:", "base_model:", "license:"))), len(tags))
            tags.insert(pos, f"dataset:{ds}")
        elif case == "legacy_id":
            owner, name = rec["id"].split("/", 1)
            legacy = name if name not in self.seen else f"{name}-legacy"
            k = 2
            while legacy in self.seen:
                legacy = f"{name}-legacy{k}"
                k += 1
            self.seen.add(legacy)
            rec["id"] = rec["modelId"] = legacy
            rec["author"] = owner


def synthetic_models(n: int, *, seed: int = 0, start: str = "2023-01-01T00:00:00.000Z") -> list[dict]:
    """n deterministic, unique, realistic model records (see the module docstring)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers: the cyclic GC would rescan them over and over
    try:
        return _generate(n, seed, start)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(n: int, seed: int, start: str) -> list[dict]:
    g = _Gen(n, seed, start)
    r = g.r
    makers = {c: getattr(g, c) for c in _CAT_NAMES}
    n_odd = len(ODD_CASES)
    seed_bits = seed & 0xFFFF
    pending_odd = None
    out = []
    for i in range(n):
        if i % 20 == 0:
            cat = "timm"
            repo_id, f = g.timm()
        else:
            cat = _CAT_NAMES[bisect.bisect_right(_CAT_CUM, r.random() * _CAT_TOTAL)]
            repo_id, f = makers[cat]()
        boost = f.pop("_boost", 1)
        created = g.start_ms + int((i + r.random() * 0.9) * g.step_ms)
        modified = created if r.random() < 0.2 else created + int(r.expovariate(1 / (40 * 86400_000)))
        downloads, likes, trending = g.popularity(boost)
        sib = f.pop("siblings")
        config = f.pop("config", None)
        rec = {
            "_id": f"{created // 1000:08x}{seed_bits:04x}{i:012x}",
            "id": repo_id,
            "private": False,
            "pipeline_tag": f.pop("pipeline_tag", None),
            "library_name": f.pop("library_name", None),
            "tags": f.pop("tags"),
            "downloads": downloads,
            "likes": likes,
            "modelId": repo_id,
            "author": repo_id.split("/", 1)[0],
            "sha": "%040x" % r.getrandbits(160),
            "lastModified": _iso(modified),
            "gated": f.pop("gated", False),
            "disabled": False,
        }
        if rec["pipeline_tag"] is None:
            del rec["pipeline_tag"]
        if rec["library_name"] is None:
            del rec["library_name"]
        if config is not None:
            rec["config"] = config
        rec.update(f)  # cardData, safetensors, usedStorage, model-index, transformersInfo, gguf, ...
        rec["siblings"] = [{"rfilename": s} for s in sib]
        rec["createdAt"] = _iso(created)
        rec["trendingScore"] = trending
        if i % 97 == 13:  # every odd case at least once per 97 * len(ODD_CASES) records
            pending_odd = ODD_CASES[(i // 97) % n_odd]
        if cat == "timm" and rec["author"] == "timm":
            pass  # the canonical timm repos stay as uniform as the real ones
        elif pending_odd is not None:
            g.odd(pending_odd, rec)
            pending_odd = None
        elif r.random() < 0.012:
            g.odd(ODD_CASES[int(r.random() * n_odd)], rec)
        out.append(rec)
    return out
