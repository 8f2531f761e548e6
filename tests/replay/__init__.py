"""Offline stand-ins for remote services, for tests and benchmarks.

hub.HubReplay: an in-memory Hugging Face Hub API (point HF_ENDPOINT or HfApi(endpoint=...) at .url).
synth.synthetic_models: deterministic, realistic Hub model records to load into it.
"""

from .hub import HubReplay
from .synth import ODD_CASES, TIMM_NAMES, synthetic_models

__all__ = ["HubReplay", "synthetic_models", "TIMM_NAMES", "ODD_CASES"]
