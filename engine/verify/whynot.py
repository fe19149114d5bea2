"""`guidewalk why-not`: the smallest change of a case's facts that leads to a node or action.

"Smallest" is lexicographic: first the fewest facts changed (a fact the case left unknown and
that now needs a value counts as one change), then the smallest numeric distance (relative to
each fact's declared range). Found with z3's optimiser over the exact encoding of the flow;
when the target cannot be reached by any patient within the declared domains, the answer says
so (the solver proved the path conditions unsatisfiable). The changed case is then walked by
the ordinary engine, so the decisions on the way and their sources are the real trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from ..errors import RunError, suggest
from ..expressions import UNKNOWN
from ..facts import check_facts, to_json_value
from ..model import Guideline
from ..rules import BuiltinRules
from ..trace import Result
from ..walk import run
from .smt import Encoder, thresholds
from .space import Space, num, space_for
from .witness import Checker, _candidates

__all__ = ["WhyNot", "why_not"]


@dataclass
class WhyNot:
    guideline: str
    target: str
    targets: list[str]
    status: str  # "already" | "found" | "impossible" | "invalid_facts"
    changes: list[dict[str, Any]] = field(default_factory=list)  # {fact, from, to}
    facts: dict[str, Any] = field(default_factory=dict)  # the changed case
    path: list[dict[str, Any]] = field(default_factory=list)  # decisions on the way
    actions: list[str] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "guideline": self.guideline,
            "target": self.target,
            "target_nodes": self.targets,
            "status": self.status,
            "changes": self.changes,
            "facts": self.facts,
            "path": self.path,
            "actions": self.actions,
            "message": self.message,
        }

    def text(self) -> str:
        lines = [self.message]
        if self.changes:
            lines.append("Smallest change of facts:")
            for c in self.changes:
                extra = f"  (any value with {c['range']})" if c.get("range") else ""
                lines.append(f"  {c['fact']}: {_fmt(c['from'])} -> {_fmt(c['to'])}{extra}")
        if self.path:
            lines.append("Decisions on the way:")
            for p in self.path:
                src = f"  [{p['source']}]" if p.get("source") else ""
                lines.append(f"  {p['node']}: {p['how']} -> {p['to']}{src}")
        if self.actions:
            lines.append("The guideline then recommends: " + ", ".join(self.actions))
        return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    if v is None:
        return "(unknown)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return "{" + ", ".join(v) + "}"
    return str(v)


def _path(result: Result) -> list[dict[str, Any]]:
    out = []
    for st in result.trace:
        if st.kind != "decision":
            continue
        how = st.how or ""
        if how.startswith("branch "):
            b = st.branches[int(how.split()[1]) - 1]
            how = f"{b.readable}"
        out.append({"node": st.node, "question": st.question, "how": how, "to": st.taken, "source": st.source.short() if st.source else None})
    return out


def why_not(g: Guideline, raw: Mapping[str, Any], target: str, *, flowchart: str | None = None) -> WhyNot:
    fc = flowchart or g.entry
    if fc not in g.flowcharts:
        raise RunError(f"no flowchart '{fc}' (has: {', '.join(g.flowcharts)})", guideline=g.id)
    if target in g.nodes:
        targets = [target]
    else:
        targets = [n.id for n in g.nodes.values() if target in n.actions]
    if not targets:
        hint = suggest(target, list(g.nodes) + list(g.actions))
        raise RunError(
            f"'{target}' is neither a node nor an action code used by a node of this guideline" + (f" (did you mean '{hint}'?)" if hint else ""), guideline=g.id
        )
    facts = check_facts(raw, g.dictionary, g.derived)
    out = WhyNot(g.id, target, targets, "found")
    if facts.errors:
        out.status = "invalid_facts"
        out.message = "The case has invalid facts: " + "; ".join(str(e) for e in facts.errors)
        return out
    rules = BuiltinRules()
    now = run(g, raw, flowchart=fc, rules=rules)
    if any(t in now.path for t in targets):
        out.status = "already"
        out.message = f"This case already reaches {target} (path: {' -> '.join(now.path)})."
        out.path, out.actions, out.facts = _path(now), now.actions, dict(facts.entered)
        return out

    space = space_for(g)
    enc = Encoder(g, space)
    reach = enc.reach((g.flowcharts[fc].start,))
    goal = z3.Or([reach[t] for t in targets])
    relevant: list[str] = []
    for t in targets:
        for f in enc.path_facts(t):
            if f not in relevant:
                relevant.append(f)
    current: dict[str, Any] = {f: (v if v is not UNKNOWN else None) for f, v in facts.values.items()}
    opt = z3.Optimize()
    opt.add(*space.axioms)
    opt.add(goal)
    fixed = []
    for name in space.specs:
        if name not in relevant:
            fixed.append(space.equals(name, _py(current.get(name))))
    opt.add(*fixed)
    changed_terms = []
    distance = []
    for f in relevant:
        same = space.equals(f, _py(current.get(f)))
        changed_terms.append(z3.If(same, 1, 0) == 0)
        spec = space.specs[f]
        v = current.get(f)
        if spec.type in ("integer", "number") and v is not None:
            span = (spec.max - spec.min) if spec.max is not None and spec.min is not None and spec.max > spec.min else max(abs(float(v)), 1.0)
            x = space.raw[f]
            d = z3.If(x >= num(v), x - num(v), num(v) - x) / num(span)
            distance.append(z3.If(space.known[f], d, 0))
    opt.minimize(z3.Sum([z3.If(c, 1, 0) for c in changed_terms]) if changed_terms else z3.IntVal(0))
    if distance:
        opt.minimize(z3.Sum(distance))
    verdict = opt.check()
    if verdict == z3.unknown:  # pragma: no cover - only with non-linear rules
        raise RunError(f"the SMT solver could not decide ({opt.reason_unknown()})", guideline=g.id)
    if verdict != z3.sat:
        out.status = "impossible"
        out.message = (
            f"No patient within the declared fact domains reaches {target} from flowchart '{fc}': "
            "the solver proved the conditions on every path there unsatisfiable."
        )
        return out
    model = opt.model()
    new = {f: space.value(model, f) for f in relevant}
    new = _nicer(space, goal, new, current, relevant, g)
    changed = {f: v for f, v in new.items() if _norm(v) != _norm(current.get(f))}
    ranges = _ranges(space, goal, new, current, relevant, changed, g)
    case = {k: v for k, v in facts.entered.items()}
    for f, v in changed.items():
        case[f] = v
    after = run(g, case, flowchart=fc, rules=rules)
    out.changes = [{"fact": f, "from": to_json_value(current.get(f)), "to": v, **({"range": ranges[f]} if f in ranges else {})} for f, v in changed.items()]
    out.facts = case
    out.path = _path(after)
    out.actions = after.actions
    reached = [t for t in targets if t in after.path]
    if reached:
        out.message = f"The guideline would lead to {target} (node {reached[0]}) with {len(changed)} fact(s) changed."
    else:  # pragma: no cover - the encoding and the walk disagree: say so rather than guess
        out.status = "mismatch"
        out.message = f"The solver found a change, but walking it did not reach {target} (path: {' -> '.join(after.path)}); please report this."
    return out


def _py(v: Any) -> Any:
    if isinstance(v, frozenset):
        return sorted(v)
    return v


def _norm(v: Any) -> Any:
    if isinstance(v, (list, frozenset, set, tuple)):
        return tuple(sorted(str(x) for x in v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _nicer(space: Space, goal: Any, new: dict[str, Any], current: Mapping[str, Any], relevant: list[str], g: Guideline) -> dict[str, Any]:
    """Move changed numbers to round values near the thresholds (the optimiser may sit an
    epsilon away from a strict bound), keeping the other changes and the goal."""
    chk = Checker(space)
    keep = [space.equals(f, _py(current.get(f))) for f in space.specs if f not in relevant]
    prefer: dict[str, list[float]] = {}
    for f, items in thresholds(g).items():
        for _op, c, _loc, _owner in items:
            prefer.setdefault(f, []).append(c)
    result = dict(new)
    for f in relevant:
        spec = space.specs[f]
        v = result[f]
        if v is None or spec.type not in ("integer", "number") or _norm(v) == _norm(current.get(f)):
            continue
        others = [space.equals(h, _py(result[h])) for h in relevant if h != f]
        origin = current.get(f)
        if origin is not None:  # nearest to the case's value
            base = float(origin)
            cands = sorted(_candidates(spec, prefer.get(f, []), base) + [v], key=lambda c: (abs(float(c) - base), len(str(c))))
        else:  # a value the case lacked: show one next to the threshold that matters
            cands = _candidates(spec, prefer.get(f, []), float(v)) + [v]
        for c in cands:
            if chk.sat(goal, *keep, *others, space.equals(f, c)) is not None:
                result[f] = c
                break
    return result


def _ranges(
    space: Space, goal: Any, new: dict[str, Any], current: Mapping[str, Any], relevant: list[str], changed: Mapping[str, Any], g: Guideline
) -> dict[str, str]:
    """For each changed fact, the readable range of values that all lead to the target when
    the other changes are kept (checked: no value in the range misses the target)."""
    from .diff import _Cells

    chk = Checker(space)
    keep = [space.equals(f, _py(current.get(f))) for f in space.specs if f not in relevant]
    pts: dict[str, list[float]] = {}
    for f, items in thresholds(g).items():
        for _op, c, _loc, _owner in items:
            pts.setdefault(f, []).append(c)
    out: dict[str, str] = {}
    for f, v in changed.items():
        spec = space.specs[f]
        if v is None:
            continue
        others = [space.equals(h, _py(new[h])) for h in relevant if h != f]
        known_f = space.known[f]

        def all_reach(cond: Any, known_f: Any = known_f, others: list[Any] = others) -> bool:
            return chk.sat(z3.Not(goal), known_f, cond, *keep, *others) is None

        if spec.type in ("integer", "number"):
            cells = _Cells(f, spec, pts.get(f, []) + [float(v)], space.raw[f])
            lo = hi = cells.index_of(v)
            while lo > 0 and all_reach(cells.constraint(lo - 1, hi, v)):
                lo -= 1
            while hi < cells.n - 1 and all_reach(cells.constraint(lo, hi + 1, v)):
                hi += 1
            text = cells.render(lo, hi)
            if text and " = " not in text:
                out[f] = text
        elif spec.type == "enum":
            ok = [x for x in spec.values if all_reach(space.raw[f] == space.sid(x))]
            if len(ok) > 1:
                out[f] = f"{f} in {{{', '.join(ok)}}}"
    return out
