"""Dataclasses without their start-up cost, for the classes a one-case ``guidewalk run`` imports.

``@struct`` behaves as ``@dataclasses.dataclass`` for what guidewalk uses: fields from the
class annotations (a base's first), defaults and ``field(default_factory=...)``, ``repr`` and
``compare`` per field, ``__post_init__``, ``eq``, ``order``, ``frozen`` (with the hash a frozen
dataclass gets), ``__match_args__``. Type checkers treat it as a dataclass
(``typing.dataclass_transform``), and ``dataclasses.fields``, ``replace``, ``asdict`` and
``is_dataclass`` work on its classes: ``__dataclass_fields__`` is built when first read.

Why: the standard decorator compiles four or five methods from source for every class, and its
module imports :mod:`inspect`; for the 40 classes on the path of ``guidewalk run`` that came
to ~45 ms of a run's ~100 ms of start-up. Here ``__repr__``, ``__eq__``, the order and the
frozen guards are shared functions over an :func:`operator.attrgetter`, nothing is compiled
when a class is made, and ``__init__`` is compiled on its first call (a run makes instances of
a handful of classes; the guideline itself is read back from the cache without ``__init__``).

``tests/test_structs.py`` checks each behaviour against the standard decorator's.
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["struct", "field", "field_names", "replace", "FrozenInstanceError"]

_T = TypeVar("_T")
_MISSING: Any = object()
_FACTORY: Any = object()  # the default in a generated __init__ of a field with a factory
_MUTABLE = (list, dict, set)


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen struct (as :class:`dataclasses.FrozenInstanceError`)."""


class Field:
    """A field's options, as given to :func:`field` and then completed by :func:`struct`."""

    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool):
        self.name = ""
        self.type: Any = None
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare


@overload
def field(*, default_factory: Callable[[], _T], repr: bool = True, compare: bool = True) -> _T: ...
@overload
def field(*, default: _T, repr: bool = True, compare: bool = True) -> _T: ...
@overload
def field(*, repr: bool = True, compare: bool = True) -> Any: ...
def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, repr: bool = True, compare: bool = True) -> Any:
    """A field's default and options (as :func:`dataclasses.field`)."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, repr, compare)


@overload
def struct(cls: type[_T], /) -> type[_T]: ...
@overload
def struct(*, eq: bool = True, order: bool = False, frozen: bool = False) -> Callable[[type[_T]], type[_T]]: ...
@dataclass_transform(field_specifiers=(field,))
def struct(cls: Any = None, /, *, eq: bool = True, order: bool = False, frozen: bool = False) -> Any:
    """Make `cls` a dataclass-like struct (see the module docstring)."""

    def wrap(c: type[_T]) -> type[_T]:
        _process(c, eq, order, frozen)
        return c

    return wrap if cls is None else wrap(cls)


def field_names(cls_or_obj: Any) -> tuple[str, ...]:
    """The names of a struct's fields, in order."""
    return tuple(f.name for f in _fields_of(cls_or_obj))


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of struct `obj` with `changes` (as :func:`dataclasses.replace`)."""
    for f in _fields_of(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def _fields_of(cls_or_obj: Any) -> tuple[Field, ...]:
    fields: tuple[Field, ...] | None = getattr(cls_or_obj, "__struct_fields__", None)
    if fields is None:
        raise TypeError(f"{cls_or_obj!r} is not a struct")
    return fields


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__origin__", annotation).__repr__()
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _process(cls: Any, eq: bool, order: bool, frozen: bool) -> None:
    own: list[Field] = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        if isinstance(annotation, str) and annotation.startswith(("InitVar", "KW_ONLY", "dataclasses.")):
            raise TypeError(f"{cls.__name__}.{name}: struct does not support {annotation}")
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(value, _MISSING, True, True)
        f.name, f.type = name, annotation
        if isinstance(f.default, _MUTABLE):
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        if isinstance(value, Field):  # the class attribute is the default, or absent (as dataclasses does)
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        own.append(f)
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__struct_fields__", ()):
            inherited[f.name] = f
    for f in own:
        inherited.pop(f.name, None)
        inherited[f.name] = f
    fields = tuple(inherited.values())
    seen_default = False
    for f in fields:
        has_default = f.default is not _MISSING or f.default_factory is not _MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default

    cls.__struct_fields__ = fields
    cls.__struct_frozen__ = frozen
    cls.__dataclass_fields__ = _DataclassFields()
    setattr(cls, "__match_args__", tuple(f.name for f in fields))  # noqa: B010 - a class attribute mypy reserves
    _set(cls, "__init__", _lazy_init(cls))
    _set(cls, "__repr__", _repr([f.name for f in fields if f.repr]))
    compared = [f.name for f in fields if f.compare]
    values = _values(compared)
    if eq:
        _set(cls, "__eq__", _eq(values))
        if "__hash__" not in cls.__dict__:
            cls.__hash__ = _hash(values) if frozen else None
    if order:
        for name in ("__lt__", "__le__", "__gt__", "__ge__"):
            if name in cls.__dict__:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}; consider using functools.total_ordering")
            setattr(cls, name, _order(name, values))
    if frozen:
        names = frozenset(f.name for f in fields)
        _set(cls, "__setattr__", _frozen_setattr(cls, names))
        _set(cls, "__delattr__", _frozen_delattr(cls, names))


def _set(cls: Any, name: str, value: Any) -> None:
    if name not in cls.__dict__:
        value.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, value)


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _repr(names: list[str]) -> Callable[[Any], str]:
    getters = [(n, attrgetter(n)) for n in names]
    running: set[tuple[int, int]] = set()  # (id, thread) of the structs being shown: a cycle prints ...

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            return f"{type(self).__qualname__}(" + ", ".join(f"{n}={get(self)!r}" for n, get in getters) + ")"
        finally:
            running.discard(key)

    return __repr__


def _eq(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _order(name: str, values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    compare = getattr(tuple, name)

    def method(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compare(values(self), values(other))
        return NotImplemented

    return method


def _frozen_setattr(cls: Any, names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: Any, names: frozenset[str]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__


def _lazy_init(cls: Any) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = _compile_init(cls)
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        if cls.__dict__.get("__init__") is __init__:
            type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    return __init__


def _compile_init(cls: Any) -> Callable[..., None]:
    """The generated ``__init__`` of `cls`, as dataclasses writes it."""
    fields: tuple[Field, ...] = cls.__struct_fields__
    frozen: bool = cls.__struct_frozen__
    ns: dict[str, Any] = {"_FACTORY": _FACTORY, "_setattr": object.__setattr__}
    params: list[str] = []
    body: list[str] = []
    for i, f in enumerate(fields):
        if f.default_factory is not _MISSING:
            ns[f"_f{i}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            value = f"_f{i}() if {f.name} is _FACTORY else {f.name}"
        else:
            if f.default is not _MISSING:
                ns[f"_d{i}"] = f.default
                params.append(f"{f.name}=_d{i}")
            else:
                params.append(f.name)
            value = f.name
        body.append(f"_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    exec(compile(source, f"<struct {cls.__module__}.{cls.__qualname__}>", "exec"), ns)  # our own source from field names
    init: Callable[..., None] = ns["__init__"]
    init.__module__ = cls.__module__
    return init


class _DataclassFields:
    """``__dataclass_fields__`` built on first read, so that :mod:`dataclasses` is imported only
    by code that asks (``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass``)."""

    def __get__(self, obj: Any, owner: Any) -> dict[str, Any]:
        import dataclasses

        out: dict[str, Any] = {}
        for f in owner.__struct_fields__:
            kw: dict[str, Any] = {"repr": f.repr, "compare": f.compare}
            if f.default is not _MISSING:
                kw["default"] = f.default
            if f.default_factory is not _MISSING:
                kw["default_factory"] = f.default_factory
            d = dataclasses.field(**kw)
            d.name, d.type = f.name, f.type
            d._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
            out[f.name] = d
        return out
