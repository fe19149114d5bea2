"""The guideline's module list (guidelines/<id>/modules.yaml): every module of the guideline
text with how far this encoding covers it (encoded | partly | not encoded) and why, read as
part of the guideline with every problem located. A guideline without the file lists no
modules; what it leaves out is then not known, and `run` says so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..format import COVERAGES, ELEMENTS, one_of
from ..model import Module
from ._context import Ctx, check_keys, expect_list, expect_map, get_text

__all__ = ["MODULES_FILE", "read_modules"]

MODULES_FILE = "modules.yaml"
_REQUIRED = tuple(k.name for k in ELEMENTS["module"] if k.required)


def read_modules(ctx: Ctx, guideline_file: Path) -> tuple[tuple[Module, ...], str | None]:
    """The modules listed next to a guideline file (`<folder>/guideline.yaml`), and the file
    they come from; ``((), None)`` when there is no such file."""
    path = guideline_file.parent / MODULES_FILE
    if guideline_file.name != "guideline.yaml" or not path.is_file():
        return (), None
    doc = ctx.load(path)
    if doc is None:
        return (), None
    items = expect_list(ctx, doc, (), doc.data, "the module list")
    if not items:
        ctx.err(doc, (), f"{MODULES_FILE} lists no modules (a list of mappings with {', '.join(_REQUIRED)})")
    out: list[Module] = []
    seen: dict[str, Any] = {}
    for i, item in enumerate(items):
        raw = expect_map(ctx, doc, (i,), item, f"module {i + 1}")
        if not raw:
            continue
        what = f"module '{raw.get('code')}'" if raw.get("code") else f"module {i + 1}"
        check_keys(ctx, doc, (i,), raw, "module", what)
        for k in _REQUIRED:
            if k not in raw:
                ctx.err(doc, (i,), f"{what} needs {k}:" + (" (null where the address could not be read)" if k == "url" else ""))
        code = get_text(ctx, doc, (i, "code"), raw.get("code"), "code", required="code" in raw)
        title = get_text(ctx, doc, (i, "title"), raw.get("title"), "title", required="title" in raw)
        url = get_text(ctx, doc, (i, "url"), raw.get("url"), "url")
        if url is not None and not re.match(r"^https?://\S+$", url):
            ctx.err(doc, (i, "url"), f"url of {what} must be an http(s) address or null")
        coverage = raw.get("coverage")
        if "coverage" in raw and coverage not in COVERAGES:
            ctx.err(doc, (i, "coverage"), f"coverage of {what} must be {one_of(COVERAGES)}, got '{coverage}'")
        reason = get_text(ctx, doc, (i, "reason"), raw.get("reason"), "reason", required="reason" in raw)
        if code is not None and code in seen:
            ctx.err(doc, (i, "code"), f"module code '{code}' is listed twice (first at {seen[code]})")
            continue
        if code is None or title is None or reason is None or coverage not in COVERAGES:
            continue
        seen[code] = doc.where((i, "code"))
        out.append(Module(code=code, title=title, url=url, coverage=str(coverage), reason=" ".join(reason.split()), location=doc.where((i,))))
    return tuple(out), doc.file
