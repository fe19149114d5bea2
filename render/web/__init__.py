"""`guidewalk serve`: the web stepper — one question per page, on a local server.

Standard library only (``http.server.ThreadingHTTPServer``); pages are server-rendered HTML
forms that work without JavaScript (the page carries no script at all). Each case lives in a
server-side :class:`guidewalk.engine.session.Session` keyed by a random id
(``secrets.token_urlsafe``), with its own lock and a per-case CSRF token that every POST must
carry; several clinicians at once never see each other's cases. Bound to 127.0.0.1 unless
told otherwise; every text is escaped with :func:`html.escape`; request bodies are limited to
MAX_BODY bytes; bad input re-renders the form with a message; an unexpected error gives a
plain error page, never a stack trace. The flowchart SVG (guidewalk.render.svg) and the report
(guidewalk.render.report) are shown when those modules are present.

The modules: :mod:`.state` (the guidelines on offer and the cases in progress), :mod:`.pages`
(the HTML pages), :mod:`.downloads` (the case as YAML, the report), :mod:`.server` (the HTTP
handler and :func:`make_server`). The `guidewalk serve` command is in :mod:`guidewalk.cli.clinician`.
"""

from .server import MAX_BODY, make_server
from .state import MAX_CASES, WebApp

__all__ = ["make_server", "WebApp", "MAX_BODY", "MAX_CASES"]
