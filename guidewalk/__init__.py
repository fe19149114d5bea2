"""guidewalk: clinical practice guidelines as checkable YAML decision graphs."""

from guidewalk.engine import __version__

__all__ = ["__version__"]
