"""The binding table of docs/fhir.md, generated from guidelines/bindings/fhir.yaml.

    python -m engine.fhir.doc            print the table
    python -m engine.fhir.doc --write    rewrite it in docs/fhir.md (between the binding-table markers)

A test fails when docs/fhir.md is not current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .bindings import GW_FACT, GW_VALUE, Binding, Bindings

__all__ = ["render_table", "main", "START", "END"]

START, END = "<!-- binding-table:start -->", "<!-- binding-table:end -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _age(b: Binding) -> str:
    if b.resource != "Observation":
        return "—"
    if b.same_day:
        return "same day"
    return "no limit" if b.max_age_days is None else f"{b.max_age_days} d"


def _val(v: object) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _standard_row(b: Binding, alt: bool = False) -> str:
    codes = ", ".join(f"`{c.short()}` {c.display or ''}".strip() for c in b.codes) or "—"
    if b.component is not None:
        codes += "; component " + " = ".join(
            [", ".join(f"`{c.short()}`" for c in b.component.codes), " or ".join(f"`{c.short()}`" for c in b.component.values)]
        )
    values = "; ".join(f"`{m.coding.short()}{'*' if m.prefix else ''}` {m.coding.display or ''} → `{_val(m.value)}`".replace("  ", " ") for m in b.map)
    if b.absent:
        extra = [f"dataAbsentReason `{k}` → `{v}`" for k, v in b.absent.items() if v is not None]
        if extra:
            values = "; ".join(x for x in (values, *extra) if x)
    if alt:
        codes += "; or its guidewalk code (an Observation)"
    if b.element in ("valueInteger", "valueQuantity") and not values:
        values = "the number" + (f" in `{b.ucum}`" if b.ucum else "")
    if b.resource == "Patient":
        values = b.inferred or ""
    elif b.element == "presence":
        values = "confirmed + active → `true`; refuted → `false`"
    element = b.element if b.element != "code" else "code (the Condition's code gives the value)"
    profile = b.profile.rsplit("/", 1)[-1] if b.profile else ""
    return f"| `{b.fact}` | {b.resource}{f' ({profile})' if profile else ''} | {element} | {_cell(codes)} | {_cell(values)} | {_age(b)} |"


def render_table(bindings: Bindings) -> str:
    std = sorted(bindings.standard, key=lambda b: b.fact)
    gw = sorted((b for b in bindings.by_fact.values() if not b.standard), key=lambda b: b.fact)
    codes = (
        {c.key() for b in std for c in b.codes}
        | {m.coding.key() for b in std for m in b.map}
        | {c.key() for b in std if b.component for c in (*b.component.codes, *b.component.values)}
    )
    lines = [
        f"Generated from `{Path(bindings.file).as_posix()}` (sha256 `{bindings.sha256[:12]}…`): "
        f"{len(bindings.by_fact)} facts, {len(std)} with a standard binding ({len(codes)} codes), "
        f"{len(gw)} with a guidewalk code.",
        "",
        "### Standard bindings",
        "",
        "| fact | resource (profile) | element | code | values | max age |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_standard_row(b, b.fact in bindings.alternatives) for b in std]
    lines += ["", "`*` = an ICD-10 category: its subcodes match too (C50.9 → breast).", ""]
    for b in std:
        if b.note:
            lines.append(f"- `{b.fact}`: {_cell(b.note)}")
    lines += [
        "",
        "### guidewalk codes",
        "",
        f"An `Observation` with `code` = `{bindings.systems[GW_FACT]}|<fact>`; an enum value is a `valueCodeableConcept` "
        f"coded `{bindings.systems[GW_VALUE]}|<value>` (or `valueString`); a set is one `component` per member "
        f"(`code` in the same value system, `valueBoolean` true); `dataAbsentReason` `unknown` / `asked-unknown` / "
        '`temp-unknown` means "asked, not known" and `not-performed` gives the fact\'s not-done value.',
        "",
        "| fact | type | value element | unit (UCUM) | max age |",
        "| --- | --- | --- | --- | --- |",
    ]
    for b in gw:
        unit = f"{b.spec.unit} (`{b.ucum}`)" if b.ucum else (b.spec.unit or "")
        els = " or ".join(b.elements)
        lines.append(f"| `{b.fact}` | {b.spec.type} | {els} | {_cell(unit)} | {_age(b)} |")
    if bindings.unverified:
        lines += ["", "### Candidate standard codes, not yet bound", "", "These facts use their guidewalk code until the code is checked:", ""]
        lines += [f"- `{k}`: {_cell(v)}" for k, v in sorted(bindings.unverified.items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from ..load import default_root, guideline_ids, load_guideline
    from .bindings import load_bindings

    args = sys.argv[1:] if argv is None else argv
    g = load_guideline(guideline_ids(default_root())[0])
    table = render_table(load_bindings(g.dictionary))
    if "--write" not in args:
        sys.stdout.write(table)
        return 0
    doc = default_root().parent / "docs" / "fhir.md"
    text = doc.read_text(encoding="utf-8")
    if START not in text or END not in text:
        sys.stderr.write(f"{doc}: markers {START} / {END} not found\n")
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{START}\n{table}{END}{tail}", encoding="utf-8")
    sys.stdout.write(f"wrote the binding table to {doc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
