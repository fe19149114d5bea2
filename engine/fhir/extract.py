"""A patient's record (FHIR R4 resources) -> guidewalk facts, table-driven by the bindings.

For every fact found: its value, the resource it came from (``Observation/kps-1``), the date,
the element (FHIR path and ``file:line:col``) and whether it was inferred (age from the birth
date). For everything that could not be used: the resource, the fact it would have given (when
known) and why — an unknown code, a status that is not final, a date after the evaluation date,
a value older than the binding's limit (stale), a unit that does not convert, or two values of
the same fact that disagree (a conflict is never resolved by picking one).

The values are plain JSON-level values; they go through :func:`engine.facts.check_facts` with
the dictionary exactly like a case file's, so a bad value in the record becomes
``invalid_facts`` with the resource path, never a recommendation.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import LoadError, Problem
from .bindings import GW_FACT, GW_VALUE, Binding, Bindings
from .bundle import Entry, Record
from .record_facts import Extraction, FactSource, NotMapped, annotate_errors, json_values, merge_case

__all__ = ["FactSource", "NotMapped", "Extraction", "extract", "parse_fhir_date", "age_on", "merge_case", "annotate_errors", "json_values"]

DATAABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CLIN_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ACTIVE_CLINICAL = ("active", "recurrence", "relapse")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_fhir_date(text: Any) -> _dt.date | None:
    """The calendar date of a FHIR date/dateTime/instant ('2019', '2019-03', '2019-03-01T10:00:00+01:00');
    a partial date is read as its first day."""
    if not isinstance(text, str):
        return None
    m = _DATE.match(text.strip())
    if not m:
        return None
    try:
        return _dt.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None


def age_on(birth: _dt.date, day: _dt.date) -> int:
    """Completed years on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _codings(cc: Any) -> list[dict[str, Any]]:
    if not isinstance(cc, dict):
        return []
    return [c for c in cc.get("coding") or [] if isinstance(c, dict)]


def _show_codes(cc: Any) -> str:
    shown = [f"{c.get('system', '?')}|{c.get('code', '?')}" for c in _codings(cc)]
    if not shown and isinstance(cc, dict) and cc.get("text"):
        return f"text '{cc['text']}' without a code"
    return ", ".join(shown) or "no code"


@dataclass
class _Cand:
    binding: Binding
    value: Any
    date: _dt.date | None
    entry: Entry
    element: str
    rank: int = 0  # Observations: latest wins; Conditions/Patient: all must agree


class _Extractor:
    def __init__(self, record: Record, bindings: Bindings, as_of: _dt.date, patient_id: str | None):
        self.record = record
        self.b = bindings
        self.as_of = as_of
        self.patient_id = patient_id
        self.not_mapped: list[NotMapped] = []
        self.cands: dict[str, list[_Cand]] = {}
        self.patient_refs: set[str] = set()

    def skip(self, entry: Entry, kind: str, reason: str, fact: str | None = None, element: str | None = None, date: _dt.date | None = None) -> None:
        loc = self.record.location(entry.path + ((element,) if element else ()))
        self.not_mapped.append(NotMapped(entry.ref, reason, kind, loc, fact, date.isoformat() if date else None))

    def add(self, c: _Cand) -> None:
        self.cands.setdefault(c.binding.fact, []).append(c)

    # ------------------------------------------------------------------ patient
    def patients(self) -> str | None:
        pats = [e for e in self.record if e.type == "Patient"]
        ids = {e.resource.get("id") or e.full_url for e in pats}
        if len(ids) > 1:
            raise LoadError(
                [
                    Problem(
                        self.record.location(pats[1].path),
                        f"the record holds {len(ids)} patients ({', '.join(sorted(str(i) for i in ids))}); facts are read for one patient",
                    )
                ]
            )
        if self.patient_id and pats and pats[0].resource.get("id") not in (None, self.patient_id):
            raise LoadError(
                [
                    Problem(
                        self.record.location(pats[0].path),
                        f"the record's patient is Patient/{pats[0].resource.get('id')}, not the patient in context (Patient/{self.patient_id})",
                    )
                ]
            )
        pid = (pats[0].resource.get("id") if pats else None) or self.patient_id
        if pid:
            self.patient_refs.add(f"Patient/{pid}")
        for e in pats:
            if e.full_url:
                self.patient_refs.add(e.full_url)
        return pid

    def subject_ok(self, entry: Entry) -> bool:
        subj = entry.resource.get("subject")
        ref = subj.get("reference") if isinstance(subj, dict) else None
        if not ref or not self.patient_refs:
            return True
        if ref in self.patient_refs or any(ref.endswith("/" + r) for r in self.patient_refs if r.startswith("Patient/")):
            return True
        self.skip(entry, "subject", f"its subject {ref} is not the record's patient", element="subject")
        return False

    # ------------------------------------------------------------------ resources
    def run(self) -> None:
        for e in self.record:
            t = e.type
            if t == "Patient":
                self.patient(e)
            elif t == "Observation":
                if self.subject_ok(e):
                    self.observation(e)
            elif t == "Condition":
                if self.subject_ok(e):
                    self.condition(e)
            elif t == "OperationOutcome":
                self.skip(e, "not_read", "an OperationOutcome: the sender could not provide some data")
            else:
                self.skip(e, "not_read", f"no fact is read from a {t}")

    def patient(self, e: Entry) -> None:
        for b in self.b.by_fact.values():
            if b.resource != "Patient":
                continue
            raw = e.resource.get(b.element)
            born = parse_fhir_date(raw)
            if born is None:
                self.skip(e, "value", f"no {b.element}: {b.fact} cannot be inferred", b.fact, b.element)
                continue
            if born > self.as_of:
                self.skip(e, "future", f"born after the evaluation date {self.as_of}", b.fact, b.element)
                continue
            if isinstance(raw, str) and len(raw) < 10:
                self.skip(e, "value", f"birthDate {raw} is not a full date: the age in completed years is not certain", b.fact, b.element)
                continue
            self.add(_Cand(b, age_on(born, self.as_of), None, e, f"Patient.{b.element}"))

    def _date(self, res: Mapping[str, Any], *keys: str) -> tuple[_dt.date | None, str | None]:
        for k in keys:
            v = res.get(k)
            if isinstance(v, dict):  # a Period
                for sub in ("end", "start"):
                    d = parse_fhir_date(v.get(sub))
                    if d:
                        return d, f"{k}.{sub}"
            else:
                d = parse_fhir_date(v)
                if d:
                    return d, k
        return None, None

    def _match(self, e: Entry) -> list[Binding]:
        seen: list[Binding] = []
        for c in _codings(e.resource.get("code")):
            for b in self.b.candidates(e.type, c.get("system"), c.get("code")):
                if b not in seen:
                    seen.append(b)
        return seen

    def _unknown_code(self, e: Entry) -> None:
        for c in _codings(e.resource.get("code")):
            if c.get("system") == self.b.systems.get(GW_FACT):
                name = str(c.get("code"))
                b = self.b.by_fact.get(name)
                if b is not None and b.standard:
                    std = ", ".join(x.short() for x in b.codes) or f"{b.resource}.{b.element}"
                    self.skip(e, "unknown_code", f"{name} has a standard binding ({std}); its guidewalk code is not read", name, "code")
                else:
                    import difflib

                    hint = difflib.get_close_matches(name, list(self.b.by_fact), n=1, cutoff=0.6)
                    self.skip(
                        e,
                        "unknown_code",
                        f"guidewalk code '{name}' is not a fact of the dictionary" + (f" (did you mean '{hint[0]}'?)" if hint else ""),
                        None,
                        "code",
                    )
                return
        self.skip(e, "unknown_code", f"no fact is bound to its code ({_show_codes(e.resource.get('code'))})", None, "code")

    def observation(self, e: Entry) -> None:
        res = e.resource
        binds = self._match(e)
        if not binds:
            self._unknown_code(e)
            return
        binds = self._components(e, binds)
        if not binds:
            return
        status = res.get("status")
        when, _ = self._date(res, "effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued")
        for b in binds:
            if status not in self.b.observation_status:
                self.skip(e, "status", f"status '{status}' (only {', '.join(self.b.observation_status)} results are read)", b.fact, "status", when)
                continue
            if not self._fresh(e, b, when):
                continue
            self._value(e, b, when)

    def _components(self, e: Entry, binds: list[Binding]) -> list[Binding]:
        out = []
        for b in binds:
            if b.component is None:
                out.append(b)
                continue
            want_code = {c.key() for c in b.component.codes}
            want_val = {c.key() for c in b.component.values}
            for comp in e.resource.get("component") or []:
                if not isinstance(comp, dict):
                    continue
                if any(f"{c.get('system')}|{c.get('code')}" in want_code for c in _codings(comp.get("code"))):
                    if any(f"{c.get('system')}|{c.get('code')}" in want_val for c in _codings(comp.get("valueCodeableConcept"))):
                        out.append(b)
                        break
        if not out:
            genes = []
            for comp in e.resource.get("component") or []:
                if isinstance(comp, dict):
                    genes += [str(c.get("code")) for c in _codings(comp.get("valueCodeableConcept")) if "genenames" in str(c.get("system"))]
            what = f"gene {', '.join(genes)}" if genes else "no matching component"
            self.skip(e, "unknown_code", f"a {_show_codes(e.resource.get('code'))} result for {what}; no fact is bound to it", None, "component")
        return out

    def _fresh(self, e: Entry, b: Binding, when: _dt.date | None) -> bool:
        if when is not None and when > self.as_of:
            self.skip(e, "future", f"dated {when}, after the evaluation date {self.as_of}", b.fact, "effectiveDateTime", when)
            return False
        if b.max_age_days is None:
            return True
        if when is None:
            self.skip(e, "undated", f"no effective date: cannot tell whether it is current (limit {b.max_age_days} days)", b.fact)
            return False
        age = (self.as_of - when).days
        if b.same_day and age > 0:
            self.skip(e, "stale", f"a 'time since' value recorded on {when} holds only on that day (evaluation date {self.as_of})", b.fact, None, when)
            return False
        if age > b.max_age_days:
            self.skip(e, "stale", f"{age} days old on {self.as_of}; {b.fact} older than {b.max_age_days} days is not used", b.fact, None, when)
            return False
        return True

    def _absent(self, e: Entry, b: Binding, when: _dt.date | None) -> bool:
        dar = e.resource.get("dataAbsentReason")
        if dar is None:
            return False
        codes = [c.get("code") for c in _codings(dar) if c.get("system") in (DATAABSENT, None)]
        for code in codes:
            if code in b.absent:
                self.add(_Cand(b, b.absent[code], when, e, "Observation.dataAbsentReason"))
                return True
        self.skip(e, "absent", f"no value (dataAbsentReason {', '.join(str(c) for c in codes) or _show_codes(dar)})", b.fact, "dataAbsentReason", when)
        return True

    def _value(self, e: Entry, b: Binding, when: _dt.date | None) -> None:
        res = e.resource
        if self._absent(e, b, when):
            return
        present = [k for k in res if k.startswith("value")] + (["component"] if "component" in b.elements and res.get("component") else [])
        element = next((el for el in b.elements if el in present), None)
        if element is None:
            got = ", ".join(present) or "no value"
            self.skip(e, "value", f"{b.fact} is read from {' or '.join(b.elements)}; the resource has {got}", b.fact, present[0] if present else None, when)
            return
        raw = res.get(element)
        try:
            value = self._convert(b, element, raw, e)
        except _Skip as s:
            self.skip(e, s.kind, s.reason, b.fact, element, when)
            return
        self.add(_Cand(b, value, when, e, f"Observation.{element}"))

    def _convert(self, b: Binding, element: str, raw: Any, e: Entry) -> Any:
        if element in ("valueInteger", "valueBoolean", "valueString"):
            return raw
        if element == "valueDateTime":
            d = parse_fhir_date(raw)
            if d is None:
                raise _Skip("value", f"valueDateTime {raw!r} is not a date")
            return d.isoformat()
        if element == "valueQuantity":
            return self._quantity(b, raw)
        if element == "valueCodeableConcept":
            if b.standard:
                for c in _codings(raw):
                    ok, v = b.value_for(c.get("system"), c.get("code"))
                    if ok:
                        return v
                raise _Skip("unknown_code", f"value {_show_codes(raw)} is not in the binding's map ({', '.join(m.coding.short() for m in b.map)})")
            vs = self.b.systems.get(GW_VALUE)
            for c in _codings(raw):
                if c.get("system") == vs:
                    return c.get("code")
            raise _Skip("unknown_code", f"value {_show_codes(raw)}: a guidewalk-coded {b.fact} takes a code of {vs}")
        if element == "component":
            vs = self.b.systems.get(GW_VALUE)
            members = []
            for comp in e.resource.get("component") or []:
                if not isinstance(comp, dict):
                    continue
                codes = [c.get("code") for c in _codings(comp.get("code")) if c.get("system") == vs]
                if not codes:
                    continue
                if comp.get("valueBoolean") is True:
                    members.append(codes[0])
            return members
        raise _Skip("value", f"element {element} is not read")  # pragma: no cover

    def _quantity(self, b: Binding, q: Any) -> Any:
        if not isinstance(q, dict) or q.get("value") is None:
            raise _Skip("value", "valueQuantity without a value")
        if q.get("comparator"):
            raise _Skip("value", f"valueQuantity with comparator '{q['comparator']}' is not an exact value")
        value = q.get("value")
        code = q.get("code") or q.get("unit")
        system = q.get("system")
        if b.ucum is None:
            if code not in (None, "1", "{count}"):
                raise _Skip("unit", f"{b.fact} has no unit, got '{code}'")
            return value
        if system not in (None, self.b.systems.get("ucum")):
            raise _Skip("unit", f"unit system {system} is not UCUM")
        if code == b.ucum:
            return value
        if isinstance(code, str) and code in b.also:
            try:
                v = float(str(value)) * b.also[code]
            except (TypeError, ValueError):
                raise _Skip("value", f"valueQuantity value {value!r} is not a number") from None
            return int(v) if v.is_integer() and b.spec.type == "integer" else round(v, 10)
        raise _Skip("unit", f"unit '{code}' does not convert to {b.spec.unit} ({b.ucum})")

    def condition(self, e: Entry) -> None:
        res = e.resource
        binds = self._match(e)
        if not binds:
            self._unknown_code(e)
            return
        ver = [c.get("code") for c in _codings(res.get("verificationStatus"))]
        clin = [c.get("code") for c in _codings(res.get("clinicalStatus"))]
        when, _ = self._date(res, "onsetDateTime", "onsetPeriod", "recordedDate")
        rec = parse_fhir_date(res.get("recordedDate"))
        for b in binds:
            if "entered-in-error" in ver:
                self.skip(e, "status", "verificationStatus entered-in-error", b.fact, "verificationStatus", when)
                continue
            if (when and when > self.as_of) or (rec and rec > self.as_of):
                self.skip(e, "future", f"recorded or started after the evaluation date {self.as_of}", b.fact, "onsetDateTime", when or rec)
                continue
            if b.element == "code":
                if "refuted" in ver:
                    self.skip(e, "status", "verificationStatus refuted", b.fact, "verificationStatus", when)
                    continue
                v = None
                for c in _codings(res.get("code")):
                    ok, v = b.value_for(c.get("system"), c.get("code"))
                    if ok:
                        break
                self.add(_Cand(b, v, when, e, "Condition.code"))
            elif b.element == "presence":
                if "refuted" in ver:
                    self.add(_Cand(b, False, when, e, "Condition.verificationStatus"))
                elif ver and ver[0] not in ("confirmed",):
                    self.skip(e, "status", f"verificationStatus {ver[0]}: not confirmed", b.fact, "verificationStatus", when)
                elif clin and clin[0] not in ACTIVE_CLINICAL:
                    self.skip(e, "status", f"clinicalStatus {clin[0]}: not active", b.fact, "clinicalStatus", when)
                else:
                    self.add(_Cand(b, True, when, e, "Condition.verificationStatus" if ver else "Condition.code"))

    # ------------------------------------------------------------------ resolve
    def resolve(self) -> tuple[dict[str, Any], dict[str, FactSource]]:
        facts: dict[str, Any] = {}
        sources: dict[str, FactSource] = {}
        for fact, cands in self.cands.items():
            b = cands[0].binding
            # Observations: the latest date wins (older ones are superseded); Conditions and the
            # Patient: every one must agree
            obs = [c for c in cands if c.entry.type == "Observation"]
            dates = [c.date for c in obs if c.date is not None]
            top: _dt.date | None = max(dates) if dates else None
            latest = [c for c in obs if c.date == top] if top else obs
            older = [c for c in obs if c not in latest]
            current = [c for c in cands if c.entry.type != "Observation"] + latest
            values = {_key(c.value) for c in current}
            if len(values) > 1:
                shown = "; ".join(f"{c.entry.ref} = {_show(c.value)}" + (f" ({c.date})" if c.date else "") for c in current)
                why = "on the same date " if len(latest) > 1 and top else ""
                loc = self.record.location(current[1].entry.path)
                self.not_mapped.append(
                    NotMapped(
                        ", ".join(c.entry.ref for c in current),
                        f"values {why}disagree: {shown}",
                        "conflict",
                        loc,
                        fact,
                        top.isoformat() if len(latest) > 1 and top else None,
                    )
                )
                continue
            c = current[0]
            facts[fact] = c.value
            el = c.element.split(".", 1)[1]
            sources[fact] = FactSource(
                fact,
                c.value,
                c.entry.ref,
                c.date.isoformat() if c.date else None,
                c.element,
                self.record.location(c.entry.path + (el,)),
                standard=b.standard,
                inferred=b.inferred,
                superseded=[f"{o.entry.ref}" + (f" ({o.date})" if o.date else "") for o in sorted(older, key=lambda o: o.date or _dt.date.min, reverse=True)],
            )
            if len(current) > 1:
                sources[fact].superseded += [f"{x.entry.ref} (same value)" for x in current[1:]]
        return dict(sorted(facts.items())), dict(sorted(sources.items()))


class _Skip(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _key(v: Any) -> Any:
    if isinstance(v, list):
        return ("set",) + tuple(sorted(map(str, v)))
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _show(v: Any) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return "{" + ", ".join(map(str, v)) + "}"
    return str(v)


def extract(record: Record, bindings: Bindings, *, as_of: _dt.date | None = None, patient_id: str | None = None) -> Extraction:
    """The facts a record gives, with their sources, and what could not be used."""
    day = as_of or _dt.date.today()
    x = _Extractor(record, bindings, day, patient_id)
    pid = x.patients()
    x.run()
    facts, sources = x.resolve()
    return Extraction(facts, sources, x.not_mapped, day, record.file, pid, bindings.sha256)
