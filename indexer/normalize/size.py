"""Sizes in bytes. MB in modelcat is 10^6 bytes, as the Hugging Face Hub shows sizes."""

from __future__ import annotations

DTYPE_BYTES = {
    "float64": 8, "f64": 8, "F64": 8, "int64": 8, "I64": 8,
    "float32": 4, "f32": 4, "F32": 4, "int32": 4, "I32": 4,
    "float16": 2, "f16": 2, "F16": 2, "bfloat16": 2, "bf16": 2, "BF16": 2, "int16": 2, "I16": 2,
    "int8": 1, "I8": 1, "uint8": 1, "U8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "bool": 1, "BOOL": 1,
}


def estimate_bytes(num_params: int | None, dtype: str = "float32") -> int | None:
    """Weights size from a parameter count and a dtype (an estimate: no headers, no buffers)."""
    if num_params is None:
        return None
    return int(num_params) * DTYPE_BYTES[dtype]


def bytes_from_mib(mib: float | None) -> int | None:
    """torchvision's `_file_size` is in MiB (2^20 bytes) although its docs say MB."""
    if mib is None:
        return None
    return round(float(mib) * 1024 * 1024)
