"""`python -m guidewalk`: the same as the `guidewalk` command."""

import sys

from guidewalk.cli import main

sys.exit(main())
