"""Two django-q2 clusters sharing one Redis broker and one PostgreSQL database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_q.models import Task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
TASKS = 24


def cluster_env() -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": REDIS_URL,
        "Q_WORKERS": "1",
    }


def test_two_clusters_share_the_work_once_each():
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = cluster_env()
    clusters = [
        subprocess.Popen(
            [sys.executable, MANAGE, "qcluster"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        enqueue = (
            "from django_q.tasks import async_task\n"
            f"for n in range({TASKS}):\n"
            "    async_task('connectors.tasks.identify_worker', 0.3,"
            " task_name=f't{n}')\n"
        )
        subprocess.run(
            [sys.executable, MANAGE, "shell", "-c", enqueue], env=env, check=True
        )
        deadline = time.monotonic() + 90
        while Task.objects.count() < TASKS and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for cluster in clusters:
            cluster.send_signal(signal.SIGTERM)
        for cluster in clusters:
            try:
                cluster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cluster.kill()

    tasks = list(Task.objects.all())
    assert len(tasks) == TASKS
    assert sorted(task.name for task in tasks) == sorted(f"t{n}" for n in range(TASKS))
    assert all(task.success for task in tasks)
    workers = {task.result for task in tasks}
    assert len(workers) == 2
