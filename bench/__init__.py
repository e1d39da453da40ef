"""Benchmarks, each measured beside a naive baseline in the same run.

Each module exposes ``run() -> dict`` and runs alone with
``python -m bench.<name>``. They need PostgreSQL: ``DATABASE_URL`` names the
server (default ``postgres://postgres@127.0.0.1:5432/junction_bench``), and
:func:`throwaway_database` creates and drops a ``test_``-prefixed database
for the run, so no real data is touched.
"""

import contextlib
import os
import time

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/junction_bench"

_open_databases = 0


def setup_django() -> None:
    """Configure Django for a benchmark (test settings, PostgreSQL)."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


@contextlib.contextmanager
def throwaway_database():
    """Create a migrated test database for the block and drop it after.

    Nested uses share the outer database, so a runner can wrap several
    benchmarks in one.
    """
    global _open_databases
    setup_django()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "postgresql":
        raise SystemExit(
            "The benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL."
        )
    if _open_databases:
        _open_databases += 1
        try:
            yield
        finally:
            _open_databases -= 1
        return
    old_config = setup_databases(verbosity=0, interactive=False)
    _open_databases = 1
    try:
        yield
    finally:
        _open_databases = 0
        teardown_databases(old_config, verbosity=0)


class Timer:
    """Wall-clock seconds of a block: ``with Timer() as timer: ...``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


@contextlib.contextmanager
def serve_sandbox():
    """Serve the project (sandbox included) on a free loopback port for the
    block, in a thread; yield its base URL."""
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(
        ("127.0.0.1", 0), QuietHandler, allow_reuse_address=True
    )
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
