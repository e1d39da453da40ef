"""The daily django-q2 schedule that runs the doctor on every connector."""

from datetime import time

from django_q.models import Schedule

from connectors.schedules import ensure_daily_schedule as ensure_daily

SCHEDULE_NAME = "doctor:daily"
TASK = "connectors.doctor.tasks.run_doctor_task"
#: Local time (``TIME_ZONE``) of the daily run, before the working day.
RUN_AT = time(6, 0)


def ensure_daily_schedule() -> Schedule:
    """Create the ``doctor:daily`` schedule, or bring an existing one back to
    a daily run of the doctor task at 06:00 local time."""
    schedule = ensure_daily(SCHEDULE_NAME, TASK, RUN_AT)
    if schedule.repeats != -1:
        schedule.repeats = -1
        schedule.save(update_fields=["repeats"])
    return schedule
