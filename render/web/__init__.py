"""`guidewalk serve`: the web stepper — one question per page, on a local server.

Standard library only (``http.server`` on a bounded pool of worker threads, ``sqlite3``).
Pages are server-rendered HTML forms that work without JavaScript; the one inline script (the
flowchart's zoom) is allowed by its hash in the Content-Security-Policy, and the page works
without it. Cases are kept in a SQLite file (``serve --db``; by default in the user's data
folder) with their full history: every answer is committed before the page returns, so a
restart loses nothing, and a case downloaded as YAML can be uploaded to resume it.

Each browser owns its cases (an HttpOnly, SameSite=Strict cookie); another browser cannot see
or change them, and no client can evict another's case (quotas refuse new cases instead).
Every POST carries a CSRF token; requests for a host name not on the allow-list (loopback
names by default, ``--allow-host``) are refused (DNS rebinding), slow clients are dropped, and
bodies are limited. Every text is escaped; an unexpected error gives a plain error page,
never a stack trace.

The modules: :mod:`.store` (the SQLite file), :mod:`.state` (guidelines, owners, cases and
quotas), :mod:`.security` (Host/Origin, cookie, CSP, request deadline), :mod:`.pages` and
:mod:`.widgets` (the HTML), :mod:`.flow` (the zoomable flowchart), :mod:`.downloads` (the
case as YAML, the report, a case uploaded), :mod:`.server` (the HTTP handler and
:func:`make_server`). The `guidewalk serve` command is in :mod:`guidewalk.cli.clinician`.
"""

from .server import MAX_BODY, MAX_UPLOAD, make_server
from .state import MAX_CASES, MAX_CASES_PER_OWNER, WebApp
from .store import default_db_path

__all__ = ["make_server", "WebApp", "MAX_BODY", "MAX_UPLOAD", "MAX_CASES", "MAX_CASES_PER_OWNER", "default_db_path"]
