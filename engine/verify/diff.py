"""`guidewalk diff OLD NEW`: what changed between two versions of a guideline, and for whom.

Structural changes: nodes, branches, thresholds, otherwise/next targets, actions, rules and
the facts asked. Clinical effect: both versions are encoded over the same patient variables;
the solver finds patients whose recommendation (the action codes on the walk's path) differs,
and each is grown into a readable region — a box over the facts (`kps = 70 and
1 <= bm_count <= 10`) that lies wholly inside the set of patients with that same change —
with one witness patient, checked by walking both versions with the ordinary engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import z3

from ..expressions import Cmp, Const, Fact, iter_nodes
from ..model import FactSpec, Guideline, Node
from ..rules import BuiltinRules
from ..walk import run
from .smt import Encoder, thresholds
from .space import Space, num, space_for
from .witness import Checker, format_patient

__all__ = ["Region", "structural", "effect"]


# --------------------------------------------------------------------------- structure


def _cond_consts(text_expr: Any) -> list[tuple[str, str, Any]]:
    out = []
    for e in iter_nodes(text_expr):
        if isinstance(e, Cmp) and isinstance(e.left, Fact) and isinstance(e.right, Const):
            out.append((e.left.name, e.op, e.right.value))
    return out


def _node_changes(a: Node, b: Node) -> Iterator[dict[str, Any]]:
    nid = a.id
    if a.kind != b.kind:
        yield {"change": "node-kind", "node": nid, "old": a.kind, "new": b.kind}
        return
    if a.kind == "decision":
        old = {br.to: br for br in a.branches}
        new = {br.to: br for br in b.branches}
        for to, br in old.items():
            if to not in new:
                yield {"change": "branch-removed", "node": nid, "old": f"{br.when.text} -> {to}"}
        for to, br in new.items():
            if to not in old:
                yield {"change": "branch-added", "node": nid, "new": f"{br.when.text} -> {to}"}
        for to in old.keys() & new.keys():
            o, n = old[to], new[to]
            if o.when.text.split() == n.when.text.split():
                continue
            oc, nc = _cond_consts(o.when.expr), _cond_consts(n.when.expr)
            if len(oc) == len(nc) and [(f, op) for f, op, _ in oc] == [(f, op) for f, op, _ in nc]:
                for (f, op, v1), (_, _, v2) in zip(oc, nc):
                    if v1 != v2:
                        yield {"change": "threshold", "node": nid, "to": to, "fact": f, "old": f"{f} {op} {v1}", "new": f"{f} {op} {v2}"}
            else:
                yield {"change": "condition", "node": nid, "to": to, "old": o.when.text, "new": n.when.text}
        if [br.to for br in a.branches if br.to in new] != [br.to for br in b.branches if br.to in old]:
            yield {"change": "branch-order", "node": nid, "old": [br.to for br in a.branches], "new": [br.to for br in b.branches]}
        if a.otherwise != b.otherwise:
            yield {"change": "otherwise", "node": nid, "old": a.otherwise, "new": b.otherwise}
        if a.exclusive != b.exclusive:
            yield {"change": "exclusive", "node": nid, "old": a.exclusive, "new": b.exclusive}
    else:
        if a.actions != b.actions:
            yield {"change": "actions", "node": nid, "old": list(a.actions), "new": list(b.actions)}
        if a.next != b.next:
            yield {"change": "next", "node": nid, "old": a.next, "new": b.next}
        if (a.text or "") != (b.text or ""):
            yield {"change": "text", "node": nid, "old": a.text, "new": b.text}
    sa, sb = a.source.short() if a.source else None, b.source.short() if b.source else None
    if sa != sb:
        yield {"change": "source", "node": nid, "old": sa, "new": sb}


def _rule_text(r: Any) -> str:
    parts = [f"{c.when.text} => {c.value.text}" for c in r.cases]
    if r.otherwise is not None:
        parts.append(f"otherwise => {r.otherwise.text}")
    if r.value is not None:
        parts.append(f"value => {r.value.text}")
    if r.when is not None:
        parts.append(f"when {r.when.text}")
    return "; ".join(parts)


def structural(old: Guideline, new: Guideline) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if old.version != new.version:
        out.append({"change": "version", "old": old.version, "new": new.version})
    for nid in old.nodes.keys() - new.nodes.keys():
        out.append({"change": "node-removed", "node": nid, "old": old.nodes[nid].kind})
    for nid in new.nodes.keys() - old.nodes.keys():
        out.append({"change": "node-added", "node": nid, "new": new.nodes[nid].kind})
    for nid in [n for n in old.nodes if n in new.nodes]:
        out += _node_changes(old.nodes[nid], new.nodes[nid])
    ro, rn = {r.id: r for r in old.rules}, {r.id: r for r in new.rules}
    for rid in ro.keys() - rn.keys():
        out.append({"change": "rule-removed", "rule": rid})
    for rid in rn.keys() - ro.keys():
        out.append({"change": "rule-added", "rule": rid})
    for rid in [r for r in ro if r in rn]:
        a, b = _rule_text(ro[rid]), _rule_text(rn[rid])
        if a.split() != b.split():
            out.append({"change": "rule", "rule": rid, "old": a, "new": b})
    fa, fb = set(old.asks), set(new.asks)
    if fa - fb:
        out.append({"change": "facts-no-longer-asked", "old": sorted(fa - fb)})
    if fb - fa:
        out.append({"change": "facts-newly-asked", "new": sorted(fb - fa)})
    return out


def describe_change(c: dict[str, Any]) -> str:
    kind = c["change"]
    where = f" at '{c['node']}'" if c.get("node") else (f" '{c['rule']}'" if c.get("rule") else "")
    if "old" in c and "new" in c:
        extra = f" (branch to {c['to']})" if c.get("to") else ""
        return f"{kind}{where}{extra}: {c['old']} -> {c['new']}"
    if "old" in c:
        return f"{kind}{where}: {c['old']}"
    if "new" in c:
        return f"{kind}{where}: {c['new']}"
    return f"{kind}{where}"


# --------------------------------------------------------------------------- effect


@dataclass
class Region:
    old: str
    new: str
    description: str
    bounds: dict[str, str]
    witness: dict[str, Any]
    checked: bool
    exact: bool = True
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "region": self.description,
            "bounds": self.bounds,
            "witness": self.witness,
            "witness_checked": self.checked,
            "notes": self.notes,
        }

    def text(self) -> str:
        lines = [
            f"{self.description}: {self.old} -> {self.new}",
            f"    witness: {format_patient(self.witness)}" + ("" if self.checked else "  (walking the witness did not confirm it)"),
        ]
        lines += [f"    note: {n}" for n in self.notes]
        return "\n".join(lines)


class _Cells:
    """The elementary pieces of one fact's domain: points at the thresholds and the open
    intervals between them (numbers); each value (enum); no/yes (boolean)."""

    def __init__(self, name: str, spec: FactSpec, points: list[float], raw: Any):
        self.name, self.spec, self.raw = name, spec, raw
        pts = set(points)
        if spec.type in ("integer", "number"):
            for edge in (spec.min, spec.max):
                if edge is not None:
                    pts.add(float(edge))
            self.points = sorted(p for p in pts if (spec.min is None or p >= spec.min) and (spec.max is None or p <= spec.max))
            self.n = 2 * len(self.points) + 1
        elif spec.type == "enum":
            self.values = list(spec.values)
            self.n = len(self.values)
        elif spec.type == "boolean":
            self.n = 2
        else:
            self.n = 0  # sets, dates, text: fixed to the witness value or left free

    def constraint(self, lo: int, hi: int, witness: Any) -> Any:
        x = self.raw
        t = self.spec.type
        if t in ("integer", "number"):
            cs = []
            if lo > 0:
                cs.append(x > num(self.points[lo // 2 - 1]) if lo % 2 == 0 else x >= num(self.points[(lo - 1) // 2]))
            if hi < self.n - 1:
                cs.append(x < num(self.points[hi // 2]) if hi % 2 == 0 else x <= num(self.points[(hi - 1) // 2]))
            return z3.And(cs) if cs else z3.BoolVal(True)
        return z3.BoolVal(True)

    def index_of(self, value: Any) -> int:
        v = float(value)
        for i, p in enumerate(self.points):
            if v == p:
                return 2 * i + 1
            if v < p:
                return 2 * i
        return 2 * len(self.points)

    def render(self, lo: int, hi: int) -> str | None:
        """Readable bounds of cells lo..hi; None when the range is the whole domain."""
        spec, f = self.spec, self.name
        if lo == 0 and hi == self.n - 1:
            return None
        low = None if lo == 0 else (self.points[(lo - 1) // 2], lo % 2 == 1)  # (value, inclusive)
        high = None if hi == self.n - 1 else (self.points[(hi - 1) // 2] if hi % 2 == 1 else self.points[hi // 2], hi % 2 == 1)
        if spec.type == "integer":
            step = spec.step or 1
            base = spec.min if spec.min is not None else 0

            def up(v: float) -> float:
                k = -(-(v - base) // step)
                return base + k * step

            def down(v: float) -> float:
                return base + ((v - base) // step) * step

            lv = None if low is None else (up(low[0]) if low[1] else up(low[0] + 1e-9))
            hv = None if high is None else (down(high[0]) if high[1] else down(high[0] - 1e-9))
            if lv is not None and spec.min is not None and lv <= spec.min:
                lv = None
            if hv is not None and spec.max is not None and hv >= spec.max:
                hv = None
            if lv is not None and hv is not None:
                return f"{f} = {_n(lv)}" if lv == hv else f"{_n(lv)} <= {f} <= {_n(hv)}"
            if lv is not None:
                return f"{f} >= {_n(lv)}"
            if hv is not None:
                return f"{f} <= {_n(hv)}"
            return None
        parts = []
        if low is not None and not (spec.min is not None and low[0] <= spec.min and low[1]):
            parts.append(f"{f} {'>=' if low[1] else '>'} {_n(low[0])}")
        if high is not None and not (spec.max is not None and high[0] >= spec.max and high[1]):
            parts.append(f"{f} {'<=' if high[1] else '<'} {_n(high[0])}")
        if low is not None and high is not None and low[1] and high[1] and low[0] == high[0]:
            return f"{f} = {_n(low[0])}"
        return " and ".join(parts) if parts else None


def _n(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _outcome_terms(enc: Encoder, starts: tuple[str, ...], codes: list[str]) -> tuple[dict[str, Any], Any]:
    reach = enc.reach(starts)
    has = {}
    for c in codes:
        nodes = [n for n in enc.g.nodes.values() if c in n.actions and n.kind in ("action", "end")]
        has[c] = z3.Or([reach[n.id] for n in nodes]) if nodes else z3.BoolVal(False)
    gaps = []
    for n in enc.g.nodes.values():
        if n.kind == "decision":
            ed = enc.edges(n)
            stuck = ed.blocked if n.otherwise else z3.Or(ed.blocked, ed.otherwise)
            gaps.append(z3.And(reach[n.id], stuck))
    return has, (z3.Or(gaps) if gaps else z3.BoolVal(False))


def _label(codes: list[str], has: dict[str, Any], gap: Any, model: Any) -> tuple[tuple[str, ...], bool]:
    got = tuple(c for c in codes if z3.is_true(model.eval(has[c], model_completion=True)))
    return got, z3.is_true(model.eval(gap, model_completion=True))


def _label_text(got: tuple[str, ...], gap: bool) -> str:
    text = " + ".join(got) if got else "none"
    return f"{text} (then a gap)" if gap and got else ("(gap: no recommendation)" if gap else text)


def affected(old: Guideline, new: Guideline, *, flowchart: str | None = None) -> dict[str, str]:
    """For each fact whose thresholds or use changed between the versions: the values it
    takes among *all* patients whose recommendation changes (an exact projection, cell by
    cell), e.g. {"kps": "kps = 70"}. Facts whose whole domain is affected are left out."""
    space = space_for(old, new)
    eo, en = Encoder(old, space, "old"), Encoder(new, space, "new")
    fo, fn = flowchart or old.entry, flowchart or new.entry
    codes = sorted({a for g in (old, new) for n in g.nodes.values() for a in n.actions})
    has_o, gap_o = _outcome_terms(eo, (old.flowcharts[fo].start,), codes)
    has_n, gap_n = _outcome_terms(en, (new.flowcharts[fn].start,), codes)
    differ = z3.Or([has_o[c] != has_n[c] for c in codes] + [gap_o != gap_n])
    chk = Checker(space)
    allk = chk.all_known()
    if chk.sat(allk, differ) is None:
        return {}
    tho, thn = thresholds(old), thresholds(new)
    changed: list[str] = []
    for f in sorted(set(tho) | set(thn)):
        a = sorted((op, c) for op, c, _l, _o in tho.get(f, []))
        b = sorted((op, c) for op, c, _l, _o in thn.get(f, []))
        if a != b:
            changed += [x for x in (eo.base_facts([f]) + en.base_facts([f])) if x not in changed]
    changed += [f for f in set(old.asks) ^ set(new.asks) if f in space.specs and f not in changed]
    out: dict[str, str] = {}
    for f in changed:
        spec = space.specs.get(f)
        if spec is None or spec.type not in ("integer", "number"):
            continue
        pts = [c for th in (tho, thn) for g_f in th for _op, c, _l, _o in th[g_f] if f in (eo.base_facts([g_f]) + en.base_facts([g_f]))]
        cells = _Cells(f, spec, pts, space.raw[f])
        ok = [i for i in range(cells.n) if chk.sat(allk, differ, cells.constraint(i, i, None)) is not None]
        if not ok or len(ok) == cells.n:
            continue
        runs: list[tuple[int, int]] = []
        for i in ok:
            if runs and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        parts = [cells.render(lo, hi) for lo, hi in runs]
        texts = [p for p in parts if p]
        if texts and len(texts) == len(parts):
            out[f] = " or ".join(texts)
    return out


def effect(old: Guideline, new: Guideline, *, flowchart: str | None = None, max_regions: int = 30) -> list[Region]:
    space = space_for(old, new)
    specs = space.specs
    eo, en = Encoder(old, space, "old"), Encoder(new, space, "new")
    fo = flowchart or old.entry
    fn = flowchart or new.entry
    codes = sorted({a for g in (old, new) for n in g.nodes.values() for a in n.actions})
    has_o, gap_o = _outcome_terms(eo, (old.flowcharts[fo].start,), codes)
    has_n, gap_n = _outcome_terms(en, (new.flowcharts[fn].start,), codes)
    chk = Checker(space)
    allk = chk.all_known()
    differ = z3.Or([has_o[c] != has_n[c] for c in codes] + [gap_o != gap_n])
    facts = list(dict.fromkeys(eo.base_facts(old.asks) + en.base_facts(new.asks)))
    facts = [f for f in facts if f in specs]
    pts: dict[str, list[float]] = {}
    for g, enc in ((old, eo), (new, en)):
        for f, items in thresholds(g).items():
            for _op, c, _loc, _owner in items:
                for b in enc.base_facts([f]):
                    pts.setdefault(b, []).append(c)
    regions: list[Region] = []
    covered: list[Any] = []
    rules = BuiltinRules()
    while len(regions) < max_regions:
        m = chk.sat(allk, differ, *[z3.Not(c) for c in covered], model=True)
        if m is None:
            break
        lo_, go = _label(codes, has_o, gap_o, m)
        ln_, gn = _label(codes, has_n, gap_n, m)
        same = z3.And([has_o[c] == (c in lo_) for c in codes] + [has_n[c] == (c in ln_) for c in codes] + [gap_o == go, gap_n == gn])
        region = z3.And(same, *[z3.Not(c) for c in covered])
        first = {f: space.value(m, f) for f in facts}
        read = _read(old, new, fo, fn, first, rules, facts)
        whole = chk.witness(region, read, pts, definite=False, everything=True) or first
        read = _read(old, new, fo, fn, whole, rules, facts)  # the values moved: read again
        w = {f: whole[f] for f in read}
        box, bounds, exact = _grow(chk, space, allk, same, read, w, pts)
        desc = " and ".join(b for b in bounds.values()) or "every patient"
        checked = _confirm(old, new, fo, fn, w, lo_, go, ln_, gn, rules)
        reg = Region(_label_text(lo_, go), _label_text(ln_, gn), desc, bounds, w, checked, exact)
        regions.append(reg)
        covered.append(box)
    regions.sort(key=lambda r: (r.old, r.new, r.description))
    return regions


def _grow(
    chk: Checker, space: Space, allk: Any, same: Any, facts: list[str], w: dict[str, Any], pts: dict[str, list[float]]
) -> tuple[Any, dict[str, str], bool]:
    """The largest box (greedy) around witness `w` inside the region `same`."""
    cells: dict[str, _Cells] = {}
    rng: dict[str, Any] = {}  # fact -> (lo, hi) cell indices | set of enum values | "free" | "point"
    for f in facts:
        spec = space.specs[f]
        c = _Cells(f, spec, pts.get(f, []) + ([float(w[f])] if spec.type in ("integer", "number") and w.get(f) is not None else []), space.raw[f])
        cells[f] = c
        v = w.get(f)
        if v is None:
            rng[f] = "free"
        elif spec.type in ("integer", "number"):
            i = c.index_of(v)
            rng[f] = (i, i)
        elif spec.type == "enum":
            rng[f] = {v}
        elif spec.type == "boolean":
            rng[f] = {bool(v)}
        else:
            rng[f] = "point"

    def cons(f: str, r: Any) -> Any:
        spec = space.specs[f]
        if r == "free":
            return z3.BoolVal(True)
        if r == "point":
            return space.equals(f, w[f])
        if spec.type in ("integer", "number"):
            return cells[f].constraint(r[0], r[1], w[f])
        if spec.type == "enum":
            return z3.Or([space.raw[f] == space.sid(v) for v in r])
        return z3.Or([space.raw[f] == b for b in r])

    def box(r: dict[str, Any]) -> Any:
        return z3.And([cons(f, x) for f, x in r.items()])

    def inside(r: dict[str, Any]) -> bool:
        return chk.sat(allk, box(r), z3.Not(same)) is None

    if not inside(rng):  # the witness's own cells are not uniform: fall back to exact points
        for f in facts:
            if w.get(f) is not None:
                rng[f] = "point"
    for f in facts:  # first drop whole facts
        if rng[f] != "free":
            trial = {**rng, f: "free"}
            if inside(trial):
                rng = trial
    for f in facts:  # then widen the rest
        r = rng[f]
        spec = space.specs[f]
        if r in ("free", "point"):
            continue
        if spec.type in ("integer", "number"):
            lo, hi = r
            while lo > 0 and inside({**rng, f: (lo - 1, hi)}):
                lo -= 1
                rng = {**rng, f: (lo, hi)}
            while hi < cells[f].n - 1 and inside({**rng, f: (lo, hi + 1)}):
                hi += 1
                rng = {**rng, f: (lo, hi)}
        else:
            allv = list(spec.values) if spec.type == "enum" else [False, True]
            for v in allv:
                if v not in rng[f] and inside({**rng, f: rng[f] | {v}}):
                    rng = {**rng, f: rng[f] | {v}}
    bounds: dict[str, str] = {}
    for f, r in rng.items():
        spec = space.specs[f]
        if r == "free":
            continue
        if r == "point":
            bounds[f] = f"{f} = {w[f]}"
        elif spec.type in ("integer", "number"):
            text = cells[f].render(r[0], r[1])
            if text:
                bounds[f] = text
        elif spec.type == "enum":
            if len(r) < len(spec.values):
                vals = sorted(r, key=list(spec.values).index)
                rest = [v for v in spec.values if v not in r]
                if len(vals) == 1:
                    bounds[f] = f"{f} = {vals[0]}"
                elif len(rest) < len(vals):
                    bounds[f] = f"{f} not in {{{', '.join(rest)}}}"
                else:
                    bounds[f] = f"{f} in {{{', '.join(vals)}}}"
        elif spec.type == "boolean" and len(r) == 1:
            bounds[f] = f if True in r else f"not {f}"
    return box(rng), bounds, True


def _read(old: Guideline, new: Guideline, fo: str, fn: str, patient: dict[str, Any], rules: Any, facts: list[str]) -> list[str]:
    """The base facts the two walks of `patient` read (the others cannot change them)."""
    from ..errors import GuidewalkError

    got: dict[str, None] = {}
    for g, fc in ((old, fo), (new, fn)):
        case = {k: v for k, v in patient.items() if k in g.dictionary and v is not None}
        try:
            res = run(g, case, flowchart=fc, rules=rules)
        except GuidewalkError:
            return facts  # a gap: keep every fact (rare; exact either way)
        for st in res.trace:
            for b in st.branches:
                for f in b.facts:
                    for base in g.base_inputs(f):
                        got.setdefault(base, None)
    return [f for f in facts if f in got]


def _confirm(
    old: Guideline, new: Guideline, fo: str, fn: str, w: dict[str, Any], lo: tuple[str, ...], go: bool, ln: tuple[str, ...], gn: bool, rules: Any
) -> bool:
    """Walk the witness through both versions with the ordinary engine."""
    from ..errors import GuidewalkError

    try:
        ro = run(old, {k: v for k, v in w.items() if k in old.dictionary}, flowchart=fo, rules=rules)
        rn = run(new, {k: v for k, v in w.items() if k in new.dictionary}, flowchart=fn, rules=rules)
    except GuidewalkError:  # a gap raises: that is the expected outcome when go/gn says so
        return go or gn
    ok_o = go or (ro.status == "complete" and tuple(sorted(set(ro.actions))) == tuple(sorted(lo)))
    ok_n = gn or (rn.status == "complete" and tuple(sorted(set(rn.actions))) == tuple(sorted(ln)))
    return ok_o and ok_n
