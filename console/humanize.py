"""Durations as people read them, for the console's pages and the operator commands alike."""
from __future__ import annotations


def duration(s: float | None) -> str:
    """Seconds -> "250 ms", "4.2 s", "3.5 min", "2.0 h", "3.1 d"; None -> ""."""
    if s is None:
        return ""
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"
