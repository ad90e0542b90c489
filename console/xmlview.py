"""Pretty-printed, syntax-highlighted XML for the console, made on the server. Pure functions.

The document is parsed with translator.parse (the hardened parser), re-indented for display only (downloads give
the stored bytes unchanged), then tokenised; every piece of text is HTML-escaped before it is wrapped in a
<span class="x-...">, so nothing from the document can become markup.
"""
from __future__ import annotations

import copy
import html
import re

from lxml import etree

MAX_DISPLAY_BYTES = 2_000_000

_TOKEN = re.compile(
    r"(?P<comment><!--.*?-->)"
    r"|(?P<cdata><!\[CDATA\[.*?\]\]>)"
    r"|(?P<pi><\?.*?\?>)"
    r"|(?P<doctype><!DOCTYPE[^>]*>)"
    r"|(?P<tag></?[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>)"
    r"|(?P<text>[^<]+)"
    r"|(?P<other><)",
    re.S)
_TAG_PARTS = re.compile(r"(?P<open></?)(?P<name>[^\s/>]+)|(?P<attr>[^\s=/>]+)(?P<eq>\s*=\s*)(?P<val>\"[^\"]*\"|'[^']*')"
                        r"|(?P<close>\s*/?>)|(?P<ws>\s+)", re.S)


def _span(cls: str, text: str) -> str:
    return f'<span class="x-{cls}">{html.escape(text, quote=False)}</span>'


def highlight(text: str) -> str:
    """XML text -> HTML (escaped, with span classes x-tag x-name x-attr x-val x-text x-comment x-pi x-cdata)."""
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        s = m.group()
        if kind == "tag":
            for p in _TAG_PARTS.finditer(s):
                if p.group("open") is not None:
                    out.append(_span("tag", p.group("open")) + _span("name", p.group("name")))
                elif p.group("attr") is not None:
                    out.append(_span("attr", p.group("attr")) + html.escape(p.group("eq"), quote=False)
                               + _span("val", p.group("val")))
                elif p.group("close") is not None:
                    out.append(_span("tag", p.group("close")))
                else:
                    out.append(html.escape(p.group(), quote=False))
        elif kind == "text":
            out.append(_span("text", s) if s.strip() else html.escape(s, quote=False))
        elif kind == "other":
            out.append(html.escape(s, quote=False))
        else:
            out.append(_span(kind, s))
    return "".join(out)


def pretty(data: bytes) -> tuple[str, str | None]:
    """(indented XML text, note). Not XML (or too large): the bytes as text with a note saying so."""
    if data is None:
        return "", "no document"
    if len(data) > MAX_DISPLAY_BYTES:
        return data[:MAX_DISPLAY_BYTES].decode("utf-8", "replace"), \
            f"shown: the first {MAX_DISPLAY_BYTES} of {len(data)} bytes, not re-indented (download for all)"
    from translator.parsing import ParseError, parse
    try:
        tree = parse(data)
    except ParseError as e:
        return data.decode("utf-8", "replace"), f"not shown as XML: {e}"
    except Exception as e:  # noqa: BLE001 - display only; the raw text is still shown
        return data.decode("utf-8", "replace"), f"not shown as XML: {e}"
    root = tree.getroot()
    shown = copy.deepcopy(root)                         # re-indent a copy: the parsed tree stays as stored
    etree.indent(shown, space="  ")
    text = etree.tostring(shown, encoding="unicode")
    return text, None


def render(data: bytes) -> tuple[str, str | None]:
    """(highlighted HTML, note) for a stored document."""
    text, note = pretty(data)
    return highlight(text), note
