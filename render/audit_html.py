"""The audit summary as one self-contained HTML page: numbers, inline SVG bar charts, tables.

No scripts, no external resources. Every text that comes from the guideline, the cohort
file or the summary is escaped (:func:`html.escape`) before it reaches HTML or SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .page import escape, html_page

__all__ = ["render_html", "bar_chart"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;color:#1d2733;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d5dde5;padding-bottom:.2rem}
.sub{color:#53606d;margin-top:0}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #d5dde5;border-radius:6px;padding:.6rem 1rem;min-width:9rem}.card b{display:block;font-size:1.4rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e6ebf0;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#53606d;font-size:.9rem}svg text{font-family:inherit}
code{background:#f2f5f8;padding:0 .2rem;border-radius:3px}
"""


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v * 100:.1f}%"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def bar_chart(items: Sequence[tuple[str, float, str]], *, title: str, width: int = 720, max_value: float | None = None, colour: str = "#3b6ea8") -> str:
    """A horizontal bar chart as inline SVG: (label, value, value text) per bar."""
    if not items:
        return f'<p class="note">{escape(title)}: nothing to show.</p>'
    bar_h, gap, label_w, value_w = 18, 6, 300, 110
    top = max_value if max_value is not None else max(v for _, v, _ in items) or 1.0
    plot_w = width - label_w - value_w
    height = len(items) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value, text) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = 0 if top <= 0 else max(0.0, min(1.0, value / top)) * plot_w
        short = label if len(label) <= 44 else label[:43] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end" font-size="12">{escape(short)}<title>{escape(label)}</title></text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}" rx="2"/>')
        parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + bar_h - 5}" font-size="12">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            cls = ' class="n"' if i in numeric else ""
            cells.append(f"<td{cls}>{escape(_fmt(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


_KIND_COLOURS = (
    ("concordant", "#2f855a", "concordant"),
    ("deviation_with_reason", "#b7791f", "deviating, with a reason"),
    ("deviation_without_reason", "#c53030", "deviating, without a reason"),
)


def stacked_chart(rows: Sequence[tuple[str, Sequence[int]]], *, title: str, width: int = 900) -> str:
    """Horizontal bars of equal length (100 %), each split into the coloured shares of
    :data:`_KIND_COLOURS`: (label, counts) per bar, counts in that order."""
    bar_h, gap, label_w, value_w = 18, 6, 300, 150
    plot_w = width - label_w - value_w
    height = len(rows) * (bar_h + gap) + gap + 22
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
    ]
    x = label_w
    for _, colour, text in _KIND_COLOURS:  # the legend
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/><text x="{x + 14}" y="13" font-size="11">{escape(text)}</text>')
        x += 14 + int(6.5 * len(text)) + 18
    for i, (label, counts) in enumerate(rows):
        y = 22 + gap + i * (bar_h + gap)
        total = sum(counts) or 1
        short = label if len(label) <= 44 else label[:43] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end" font-size="12">{escape(short)}<title>{escape(label)}</title></text>')
        x0 = float(label_w)
        for n, (_, colour, text) in zip(counts, _KIND_COLOURS):
            w = n / total * plot_w
            if w > 0:
                parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"><title>{escape(f"{text}: {n:,}")}</title></rect>')
            x0 += w
        parts.append(f'<text x="{label_w + plot_w + 5}" y="{y + bar_h - 5}" font-size="12">{escape(" / ".join(f"{n:,}" for n in counts))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _by_decision(conc: dict[str, Any], max_rows: int) -> str:
    """Per decision: concordant, deviating with a reason, deviating without one (engine.audit.concordance)."""
    rows = conc.get("by_decision") or []
    col = conc.get("reason_column")
    out = ["<h3>Per decision: concordant, deviating with a reason, deviating without one</h3>", f'<p class="note">{escape(conc.get("by_decision_note", ""))} ']
    out.append(f"Reason column: <code>{escape(col)}</code>.</p>" if col else "No reason column was given (<code>--reason</code>).</p>")
    out.append(
        f"<p>{conc['deviation_with_reason']:,} deviations with a recorded reason and {conc['deviation_without_reason']:,} without, "
        f"of {conc['assessable']:,} assessable patients.</p>"
    )
    if not rows:
        return "".join(out)
    kinds = [k for k, _, _ in _KIND_COLOURS]
    out.append(stacked_chart([(b["title"] or b["question"] or b["node"], [b[k] for k in kinds]) for b in rows[:80]], title="concordance per decision"))
    out.append(
        _table(
            ("decision", "question", "assessable", "concordant", "deviating, with a reason", "deviating, without a reason"),
            [(b["title"] or b["node"], b["question"], b["assessable"], *[b[k] for k in kinds]) for b in rows[:max_rows]],
            numeric=(2, 3, 4, 5),
        )
    )
    return "".join(out)


def render_html(s: dict[str, Any], *, max_rows: int = 200) -> str:
    """The page for an audit summary (the dict `guidewalk audit --summary` writes)."""
    g = s["guideline"]
    n = s["patients"]
    st = s["status"]
    conc = s.get("concordance")
    title = f"Audit: {g.get('title') or g['id']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">Guideline <code>{escape(g["id"])}</code> version {escape(str(g["version"]))}, flowchart '
        f"<code>{escape(s['flowchart'])}</code>; cohort <code>{escape(str(s['input']['file']))}</code> ({escape(s['input']['format'])}); "
        f"rules backend <code>{escape(s['engine']['rules_backend'])}</code>. What the guideline recommends for each patient, "
        f"and how often the actual treatment agreed.</p>",
    ]
    cards = [
        ("patients", _fmt(n)),
        ("complete walks", _fmt(st["complete"])),
        ("need facts", _fmt(st["needs_facts"])),
        ("invalid rows", _fmt(s["invalid_rows"]["count"])),
    ]
    if conc:
        cards.append(("concordance", _fmt(conc["rate"])))
    body.append('<div class="cards">' + "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in cards) + "</div>")

    body.append("<h2>Status</h2>")
    body.append(bar_chart([(k, v, f"{v:,}") for k, v in st.items()], title="patients by status", max_value=n or 1))

    rec = s["recommendations"]
    body.append("<h2>What the guideline recommends</h2>")
    body.append(f'<p class="note">{escape(rec["note"])}.</p>')
    body.append(
        bar_chart(
            [(a["code"], a["patients"], f"{a['patients']:,} ({_fmt(a['share'])})") for a in rec["actions"][:40]],
            title="patients per recommended action code",
            max_value=st["complete"] or 1,
        )
    )
    if rec["endpoints"]:
        body.append("<h3>Where the walks end</h3>")
        body.append(_table(("node", "title", "patients"), [(e["node"], e["title"], e["patients"]) for e in rec["endpoints"][:max_rows]], numeric=(2,)))

    nf = s["needs_facts"]
    body.append("<h2>Walks that stopped for missing facts</h2>")
    if nf["facts"]:
        body.append(f'<p class="note">{nf["patients"]:,} patients; the facts that would decide the blocking decision, and how often each was missing.</p>')
        body.append(
            bar_chart(
                [(f["fact"], f["patients"], f"{f['patients']:,} ({_fmt(f['share'])})") for f in nf["facts"][:40]],
                title="patients per missing fact",
                max_value=nf["patients"] or 1,
                colour="#b7791f",
            )
        )
        body.append(
            _table(("blocked at node", "title", "patients"), [(b["node"], b["title"], b["patients"]) for b in nf["blocked_at"][:max_rows]], numeric=(2,))
        )
    else:
        body.append('<p class="note">None.</p>')

    if conc:
        body.append("<h2>Concordance of the actual treatment</h2>")
        body.append(f'<p class="note">{escape(conc["definition"])}</p>')
        ex = conc["excluded"]
        body.append(
            f"<p>{conc['concordant']:,} of {conc['assessable']:,} assessable patients concordant ({escape(_fmt(conc['rate']))}). "
            f"Not assessable: {ex['walk_not_complete']:,} without a complete walk, {ex['no_actual']:,} without an actual treatment, "
            f"{ex['invalid_actual']:,} with an actual value that is not an action code.</p>"
        )
        nodes = [b for b in conc["by_node"] if b["assessable"]]
        body.append("<h3>Per node: concordant share of the assessable patients passing it</h3>")
        body.append(
            bar_chart(
                [(f"{b['node']}", b["rate"] or 0.0, f"{_fmt(b['rate'])} of {b['assessable']:,}") for b in nodes[:80]],
                title="concordance per node",
                max_value=1.0,
                colour="#2f855a",
            )
        )
        body.append(
            _table(
                ("node", "kind", "title", "patients passing", "assessable", "concordant", "rate"),
                [(b["node"], b["kind"], b["title"], b["patients"], b["assessable"], b["concordant"], b["rate"]) for b in conc["by_node"][:max_rows]],
                numeric=(3, 4, 5, 6),
            )
        )
        body.append(_by_decision(conc, max_rows))
        if conc["deviations"]:
            body.append("<h3>Most frequent deviations</h3>")
            body.append(
                _table(
                    ("the guideline recommends (last recommendation)", "actual", "patients"),
                    [(", ".join(d["recommended"]), ", ".join(d["actual"]), d["patients"]) for d in conc["deviations"][:max_rows]],
                    numeric=(2,),
                )
            )

    inv = s["invalid_rows"]
    body.append("<h2>Invalid rows</h2>")
    if inv["count"]:
        body.append(
            f'<p class="note">{inv["count"]:,} rows: '
            + escape(", ".join(f"{k} {v:,}" for k, v in inv["by_status"].items()))
            + f". Every one is in the per-patient output with its reasons; the first {min(max_rows, inv['listed']):,} are shown.</p>"
        )
        body.append(_table(("row", "status", "reasons"), [(r["row"], r["status"], "; ".join(r["reasons"])) for r in inv["rows"][:max_rows]], numeric=(0,)))
    else:
        body.append('<p class="note">None.</p>')
    ign = s["input"].get("ignored_columns") or []
    if ign:
        body.append("<h3>Columns not used as facts</h3>")
        body.append(_table(("column", "reason"), [(c["column"], c["reason"]) for c in ign]))
    return html_page(title, "\n".join(body), style=_CSS)
