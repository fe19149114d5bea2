"""The one HTML page shell (doctype, head, body) and the one HTML-escaping helper.

The report, the web stepper's pages and the audit summary are all written by
:func:`html_page`: the same head (charset, viewport, title, styles) with each page's own
Content-Security-Policy meta element, or none when the page gets its policy another way
(the web stepper sends it as an HTTP header). Void elements are closed (``<meta .../>``) so
that a page is well-formed XML as well as HTML, which the report relies on.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["html_page", "escape", "strength_badge", "STRENGTH_CSS"]


def escape(text: Any) -> str:
    """Text made safe for HTML content and quoted attribute values; None is the empty text."""
    return html.escape("" if text is None else str(text), quote=True)


#: the look of :func:`strength_badge` (directive: filled; conditional: outlined)
STRENGTH_CSS = (
    ".strength{display:inline-block;font-size:.8em;font-weight:bold;padding:0 .45em;border-radius:.3em;margin-right:.3em;white-space:nowrap}\n"
    ".strength-directive{background:#1f4e9e;color:#fff}.strength-conditional{background:#fff;color:#6a3d9a;border:1px solid #6a3d9a}\n"
)


def strength_badge(strength: Any) -> str:
    """A badge saying how strongly the guideline words a recommendation or alert (its source's
    verb form); nothing when the source does not say."""
    from .text import STRENGTH_BADGE, STRENGTH_WORDS

    if strength not in STRENGTH_WORDS:
        return ""
    words = f"{strength}: {STRENGTH_WORDS[str(strength)]} it"
    return f'<span class="strength strength-{escape(strength)}" title="{escape(words)}">{escape(STRENGTH_BADGE[str(strength)])}</span> '


def html_page(title: str, body: str, *, style: str = "", csp: str | None = None) -> str:
    """A whole HTML document: `title` (escaped here), `style` (CSS for the head), `csp` (the
    Content-Security-Policy meta element, when given) and `body` (markup, inserted as is)."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
    ]
    if csp is not None:
        policy = html.escape(csp, quote=False).replace('"', "&quot;")
        lines.append(f'<meta http-equiv="Content-Security-Policy" content="{policy}"/>')
    styles = f"<style>{style}</style>" if style else ""
    lines += [f"<title>{escape(title)}</title>{styles}</head><body>", body, "</body></html>"]
    return "\n".join(lines) + "\n"
