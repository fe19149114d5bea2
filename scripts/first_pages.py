"""Write the shipped first stepper pages (``<guideline folder>/first-pages.json``) of the
shipped guidelines, or of the guidelines named, after a guideline changed:

    .venv/bin/python scripts/first_pages.py [GUIDELINE ...]

See :mod:`guidewalk.engine.session.first_pages`; a test fails while a file is not current.
"""

from __future__ import annotations

import os
import sys

from guidewalk.engine.load import guideline_ids, load_guideline
from guidewalk.engine.session.first_pages import write


def main(argv: list[str]) -> int:
    os.environ["GUIDEWALK_CACHE"] = "0"  # computed, never read back
    ids = argv or guideline_ids()
    for gid in ids:
        path = write(load_guideline(gid))
        print(f"wrote {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
