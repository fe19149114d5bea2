"""Exact proofs over a loaded guideline with z3 (lint, why-not, diff), and the JSON Schemas
of the guideline files.

Every module here that imports z3 is imported only by the commands that need it."""
