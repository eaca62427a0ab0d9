"""Every request starts with nothing of another's: its own application context and `g`.

Flask reuses an application context that is already active when a request arrives instead of
pushing one of its own. A server that loads the app inside one (a CLI command run under
`with_appcontext`, a worker forked from such a process, a test harness) would then hand one
request's `g` — the API account, the parsed body, the database session, Flask-Login's user — to
the next. Running each request in an empty `contextvars.Context` makes that impossible whatever
the server, the worker class, or the number of workers and threads.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class OwnContextPerRequest:
    """WSGI middleware: call the wrapped app in a fresh, empty context per request."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        result: Iterable[bytes] = contextvars.Context().run(self.wsgi_app, environ, start_response)
        return result


def install(app: Flask) -> None:
    app.wsgi_app = OwnContextPerRequest(app.wsgi_app)  # type: ignore[method-assign]
