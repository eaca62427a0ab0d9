"""Text as Chinese users write it, made comparable: shared by red-flag triage and drug-name
screening."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _t2s() -> Any:
    import opencc  # the conversion tables load once per process

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional characters as simplified ones (嗎啡 → 吗啡); simplified text is unchanged."""
    converted: str = _t2s().convert(text)
    return converted
