"""Device names (schema/devices.yml): the spellings timm's benchmark files and people use -> one name."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1)
def device_table() -> dict[str, dict]:
    from .tables import load_table

    return load_table("devices").get("devices") or {}


def canonical_device(value: str) -> str | None:
    """A device as schema/devices.yml names it ("4090", "RTX 4090" -> "RTX 4090"), or None."""
    key = loose_device(value)
    for ident, d in device_table().items():
        if key in {loose_device(ident), loose_device(d.get("name") or "")} | {loose_device(a) for a in d.get("aliases") or []}:
            return d.get("name")
    return None


def loose_device(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(s).lower())


