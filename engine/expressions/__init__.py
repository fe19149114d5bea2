"""The condition language: text -> whitelisted syntax tree -> type check -> compiled closure.

Conditions use Python's expression syntax; nothing is ever evaluated as code. The pipeline,
one module per step:

* :mod:`.parse` — text -> tree: :func:`ast.parse`, then node by node into the small tree of
  :mod:`.tree`; anything outside the whitelist (attribute access, subscripts, lambdas,
  comprehensions, calls other than the fixed :data:`FUNCTIONS`) is an error at load time;
* :mod:`.check` — names resolved against the facts in scope and types checked
  (:func:`check`, :func:`check_value`), then :func:`finalize`; :func:`compile_condition`
  does parse, check and finalise in one step (the loader's entry point);
* :mod:`.evaluate` — the checked tree compiled into a closure ``env -> value | UNKNOWN``
  (:func:`compile_expr`), and :func:`relevant_unknowns`;
* :mod:`.readable` — a tree rendered for people (labels and traces).

Unknown values follow Kleene's three-valued logic (:data:`UNKNOWN`). Other modules import
from this package, not from its modules.
"""

from __future__ import annotations

from .check import check, check_value, compile_condition, finalize
from .evaluate import compile_expr, evaluate, relevant_unknowns
from .parse import MAX_LENGTH, parse
from .readable import readable
from .tree import (
    FUNCTIONS,
    UNKNOWN,
    Arith,
    BoolOp,
    Call,
    Cmp,
    Const,
    Expr,
    Fact,
    FactLike,
    In,
    ListLit,
    Neg,
    Not,
    Word,
    constants,
    facts_read,
    iter_nodes,
)

__all__ = [
    # the tree
    "UNKNOWN",
    "FactLike",
    "Expr",
    "Const",
    "Word",
    "Fact",
    "Not",
    "BoolOp",
    "Cmp",
    "In",
    "ListLit",
    "Arith",
    "Neg",
    "Call",
    "FUNCTIONS",
    "iter_nodes",
    "facts_read",
    "constants",
    # text -> tree
    "MAX_LENGTH",
    "parse",
    # type check
    "check",
    "check_value",
    "finalize",
    "compile_condition",
    # compiled closure
    "compile_expr",
    "relevant_unknowns",
    "evaluate",
    # for people
    "readable",
]
