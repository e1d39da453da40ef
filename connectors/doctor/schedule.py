"""The daily django-q2 schedule that runs the doctor on every connector."""

from django_q.models import Schedule

SCHEDULE_NAME = "doctor:daily"
TASK = "connectors.doctor.tasks.run_doctor_task"


def ensure_daily_schedule() -> Schedule:
    """Create the ``doctor:daily`` schedule, or bring an existing one back to
    a daily run of the doctor task. The time of the next run is kept."""
    schedule, created = Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": TASK, "schedule_type": Schedule.DAILY, "repeats": -1},
    )
    if not created and (
        schedule.func != TASK
        or schedule.schedule_type != Schedule.DAILY
        or schedule.repeats != -1
    ):
        schedule.func = TASK
        schedule.schedule_type = Schedule.DAILY
        schedule.repeats = -1
        schedule.save(update_fields=["func", "schedule_type", "repeats"])
    return schedule
