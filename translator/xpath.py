"""Readable element paths (`/DecMessage/DecLists/DecList[5]/OriginCountry`) for error reports."""
from __future__ import annotations

from lxml import etree


def local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def readable_path(el: etree._Element | None) -> str:
    """Local names from the root down, with a 1-based index where siblings share the name."""
    if el is None:
        return ""
    parts: list[str] = []
    while el is not None:
        tag = el.tag
        name = local(tag)
        parent = el.getparent()
        if parent is not None:
            same = [s for s in parent.iterchildren(tag)]
            if len(same) > 1:
                name = f"{name}[{same.index(el) + 1}]"
        parts.append(name)
        el = parent
    return "/" + "/".join(reversed(parts))
