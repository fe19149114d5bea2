"""engine.structs behaves as the standard dataclass decorator for every shape guidewalk uses.

Each shape is declared twice by one function, once with ``dataclasses`` and once with
``engine.structs``; every check runs the same operation on both and expects the same outcome
(value, or exception type)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from guidewalk.engine import structs


def shapes(deco: Any, fld: Any) -> dict[str, Any]:
    @deco
    class Plain:
        a: int
        b: str = "x"

    @deco(frozen=True)
    class Frozen:
        a: int
        b: tuple[int, ...] = ()

    @deco(frozen=True, order=True)
    class Ordered:
        file: str
        line: int = 0

    @deco
    class WithFactory:
        a: int
        items: list[int] = fld(default_factory=list)
        hidden: int = fld(default=0, repr=False, compare=False)

    @deco
    class Base:
        col: int

        def children(self) -> list[Any]:
            return []

    @deco
    class Child(Base):
        left: int
        right: int = 1

    @deco(frozen=True)
    class Post:
        values: dict[str, int]
        n: int = 0

        def __post_init__(self) -> None:
            object.__setattr__(self, "n", len(self.values))

    @deco
    class WithClassVar:
        kind: ClassVar[str] = "k"
        a: int = 0

    @deco(frozen=True)
    class OwnRepr:
        a: int

        def __repr__(self) -> str:
            return f"<{self.a}>"

    @deco
    class Empty:
        pass

    return {c.__name__: c for c in (Plain, Frozen, Ordered, WithFactory, Base, Child, Post, WithClassVar, OwnRepr, Empty)}


STD = shapes(dataclasses.dataclass, dataclasses.field)
OURS = shapes(structs.struct, structs.field)

#: (shape, positional args, keyword args) of instances to make
MAKE: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Plain", (1,), {}),
    ("Plain", (1, "y"), {}),
    ("Plain", (), {"b": "z", "a": 2}),
    ("Plain", (), {}),
    ("Plain", (1, "y", 3), {}),
    ("Plain", (1,), {"c": 3}),
    ("Plain", (1,), {"a": 3}),
    ("Frozen", (1, (2, 3)), {}),
    ("Frozen", (float("nan"),), {}),
    ("Ordered", ("a.yaml", 3), {}),
    ("Ordered", ("a.yaml",), {}),
    ("WithFactory", (1,), {}),
    ("WithFactory", (1, [2]), {"hidden": 5}),
    ("Base", (4,), {}),
    ("Child", (1, 2), {}),
    ("Child", (1, 2, 3), {}),
    ("Child", (1,), {}),
    ("Post", ({"a": 1, "b": 2},), {}),
    ("WithClassVar", (), {}),
    ("WithClassVar", (), {"kind": "x"}),
    ("OwnRepr", (7,), {}),
    ("Empty", (), {}),
    ("Empty", (1,), {}),
]


def outcome(f: Callable[[], Any]) -> Any:
    try:
        return ("ok", f())
    except Exception as exc:  # the type is what must agree
        return ("raises", type(exc).__name__ if not isinstance(exc, AttributeError) else "AttributeError")


def make(classes: dict[str, Any], name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    return classes[name](*args, **kw)


@pytest.mark.parametrize(("name", "args", "kw"), MAKE, ids=[f"{m[0]}-{i}" for i, m in enumerate(MAKE)])
def test_same_behaviour_as_dataclasses(name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    made = [outcome(lambda c=c: make(c, name, args, kw)) for c in (STD, OURS)]
    assert [m[0] for m in made] == [made[0][0]] * 2, made
    if made[0][0] == "raises":
        assert made[0] == made[1]
        return
    std, ours = made[0][1], made[1][1]
    twin_std, twin_ours = make(STD, name, args, kw), make(OURS, name, args, kw)
    checks: dict[str, Callable[[Any, Any], Any]] = {
        "repr": lambda o, t: repr(o),
        "eq twin": lambda o, t: o == t,
        "ne twin": lambda o, t: o != t,
        "eq self": lambda o, t: o == o,
        "eq other type": lambda o, t: o == (1,),
        "__eq__ other type": lambda o, t: o.__eq__((1,)),
        "hash equal to twin's": lambda o, t: hash(o) == hash(t),
        "hashable": lambda o, t: type(o).__hash__ is not None,
        "lt": lambda o, t: o < t,
        "le": lambda o, t: o <= t,
        "fields": lambda o, t: [(f.name, f.repr, f.compare) for f in dataclasses.fields(o)],
        "asdict": lambda o, t: dataclasses.asdict(o),
        "is_dataclass": lambda o, t: (dataclasses.is_dataclass(o), dataclasses.is_dataclass(type(o))),
        "replace": lambda o, t: repr(dataclasses.replace(o)),
        "match_args": lambda o, t: type(o).__match_args__,
        "vars": lambda o, t: vars(o),
        "deepcopy equal": lambda o, t: copy.deepcopy(o) == o,
        "set a field": lambda o, t: setattr(o, type(o).__match_args__[0], 9) if type(o).__match_args__ else setattr(o, "z", 1),
        "set another attribute": lambda o, t: setattr(o, "extra", 1),
        "delete a field": lambda o, t: delattr(o, type(o).__match_args__[0]) if type(o).__match_args__ else None,
        "class attributes": lambda o, t: {k: getattr(type(o), k, "<absent>") for k in ("a", "b", "items", "hidden", "kind", "line")},
    }
    for what, check in checks.items():
        expected = outcome(lambda check=check: check(std, twin_std))
        got = outcome(lambda check=check: check(ours, twin_ours))
        assert got == expected, f"{name}{args}{kw}: {what}: dataclasses {expected}, structs {got}"


def test_factories_give_each_instance_its_own_value() -> None:
    a, b = OURS["WithFactory"](1), OURS["WithFactory"](2)
    a.items.append(1)
    assert b.items == []


def test_frozen_error_is_an_attribute_error_and_names_the_field() -> None:
    o = OURS["Frozen"](1)
    with pytest.raises(structs.FrozenInstanceError, match="cannot assign to field 'a'"):
        o.a = 2  # type: ignore[misc]
    assert issubclass(structs.FrozenInstanceError, AttributeError)


def test_pickle_round_trip() -> None:
    o = OURS["Ordered"]("a.yaml", 3)
    # local classes do not pickle; a module-level struct does
    from guidewalk.engine.errors import Location

    loc = Location("a.yaml", 3, 4, "x/y")
    assert pickle.loads(pickle.dumps(loc)) == loc
    assert o == OURS["Ordered"]("a.yaml", 3)


def test_sorting_as_dataclasses_sorts() -> None:
    rows = [("b", 1), ("a", 2), ("a", 1)]
    assert [(o.file, o.line) for o in sorted(OURS["Ordered"](*r) for r in rows)] == [(o.file, o.line) for o in sorted(STD["Ordered"](*r) for r in rows)]


def test_mistakes_in_a_declaration_are_refused_as_dataclasses_refuses_them() -> None:
    for deco, fld in ((dataclasses.dataclass, dataclasses.field), (structs.struct, structs.field)):
        with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

            @deco
            class Order:
                a: int = 0
                b: int

        with pytest.raises(ValueError, match="mutable default"):

            @deco
            class Mutable:
                a: list[int] = []  # noqa: RUF012

        with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
            fld(default=1, default_factory=list)


def test_replace_and_field_names() -> None:
    child = OURS["Child"](1, 2)
    assert structs.field_names(child) == ("col", "left", "right")
    assert structs.replace(child, right=5) == OURS["Child"](1, 2, 5)
    with pytest.raises(TypeError):
        structs.replace(child, nope=1)
    with pytest.raises(TypeError, match="not a struct"):
        structs.field_names(object())


def test_init_is_compiled_once_on_first_use() -> None:
    cls = shapes(structs.struct, structs.field)["Plain"]
    stub = cls.__init__
    cls(1)
    assert cls.__init__ is not stub
    compiled = cls.__init__
    cls(2)
    assert cls.__init__ is compiled
    assert compiled.__qualname__.endswith("Plain.__init__")
