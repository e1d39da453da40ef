import logging
import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_q.models import Schedule

from connectors import demo
from connectors.doctor.schedule import ensure_daily_schedule as ensure_doctor_schedule
from connectors.schedules import sync_schedules


class Command(BaseCommand):
    help = (
        "Load the demo data (idempotently), then serve the web server and a "
        "django-q2 worker together until Ctrl-C stops both."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=8000, help="Port for the web server."
        )
        parser.add_argument(
            "--setup-only",
            action="store_true",
            help="Load the demo data and exit without serving.",
        )

    def handle(self, *args, port, setup_only, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a TCP port; use 1 to 65535.")
        base_url = f"http://127.0.0.1:{port}"
        call_command("migrate", interactive=False, verbosity=0)
        # Loading writes a stock movement and queues a task per product and
        # location; an INFO line for each would bury the login below.
        logging.disable(logging.INFO)
        try:
            summary = demo.load(base_url)
        finally:
            logging.disable(logging.NOTSET)
        sync_schedules()
        ensure_doctor_schedule()
        Schedule.objects.update_or_create(
            name="sandbox:thg:new-orders",
            defaults={
                "func": "connectors.thg.sandbox.tasks.generate_demo_orders",
                "args": repr(demo.THG_REALM),
                "kwargs": "{'count': 3}",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
        self.stdout.write(
            f"Demo data ready: {summary.products} products, connectors "
            f"{summary.connector.name!r} and {demo.TIKTOK_CONNECTOR_NAME!r}, "
            f"{summary.sandbox_orders} orders waiting in the THG sandbox."
        )
        if setup_only:
            return
        self._serve(port, base_url)

    def _serve(self, port: int, base_url: str) -> None:
        env = {**os.environ, "SANDBOX_ENABLED": "true"}
        if not settings.SANDBOX_ENABLED:
            self.stdout.write(
                self.style.WARNING("SANDBOX_ENABLED was off; the demo turns it on.")
            )
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        web = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env
        )
        worker = subprocess.Popen([*manage, "qcluster"], env=env)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nJunction is running.\n  Admin:   {base_url}/admin/\n"
                f"  Login:   {demo.DEMO_USERNAME} / {demo.DEMO_PASSWORD}\n"
                f"  Sandbox: {base_url}/sandbox/thg/support/\n"
                "Orders arrive in the sandbox every minute and sync within one. "
                "Press Ctrl-C to stop.\n"
            )
        )
        processes = {"web server": web, "worker": worker}
        stop_requested = threading.Event()

        def request_stop(signum, frame):
            stop_requested.set()

        # Ctrl-C reaches the whole process group at once, so the children may
        # exit a moment before this process notices: a flag, not an
        # exception, tells a requested stop from a crash.
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        exited = []
        try:
            while not stop_requested.is_set():
                exited = [n for n, p in processes.items() if p.poll() is not None]
                if exited:
                    # Give a signal that is on its way a second to arrive.
                    stop_requested.wait(1.0)
                    break
                stop_requested.wait(0.5)
        finally:
            if stop_requested.is_set():
                self.stdout.write("Stopping the web server and the worker…")
            _stop(processes.values())
        if exited and not stop_requested.is_set():
            raise CommandError(
                f"The {' and the '.join(exited)} stopped unexpectedly; see the "
                "output above."
            )


def _stop(processes) -> None:
    """Interrupt each process, as Ctrl-C would, and kill any that hangs."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
