"""The doctor command, the daily task and schedule, and stored reports."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Schedule

from connectors.doctor import Severity, diagnose, latest_reports
from connectors.doctor.runner import CHECKS
from connectors.doctor.tasks import run_doctor_task
from connectors.models import DoctorReport
from connectors.thg.sandbox import services as sandbox

from .conftest import offline_connector


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_command_exits_zero_for_a_healthy_connector(healthy_world, capsys):
    call_command("doctor", "THG Doctor")

    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "THG Doctor (THG marketplace): 0 errors, 0 warnings, 3 notes "
        f"(14 checks, {DoctorReport.objects.get().seconds:.1f} s)"
    )
    assert "Checked 1 connector: 0 errors, 0 warnings, 3 notes." in out
    report = DoctorReport.objects.get(connector=healthy_world.connector)
    assert report.trigger == DoctorReport.Trigger.COMMAND
    assert report.error_count == 0
    assert report.status == "ok"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_command_exits_non_zero_on_an_error(world, capsys):
    sandbox.deactivate(world.account)

    with pytest.raises(CommandError) as raised:
        call_command("doctor", "THG Doctor")

    assert raised.value.returncode == 1
    assert str(raised.value).endswith("Errors on: THG Doctor.")
    out = capsys.readouterr().out
    assert "  ERROR   Saved but no data flows [thg_not_activated]" in out
    assert "    - handshake: not_activated" in out
    assert "    Next step: Send the username 'thg-e2e'" in out
    report = DoctorReport.objects.get(connector=world.connector)
    assert report.status == "error"
    assert report.headline == "Saved but no data flows"


@pytest.mark.django_db
def test_command_without_name_checks_every_connector(capsys):
    offline_connector(name="A first")
    offline_connector(name="B second")

    with pytest.raises(CommandError) as raised:
        call_command("doctor", verbosity=0)

    assert str(raised.value).endswith("Errors on: A first, B second.")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["A first", "B second"]
    assert DoctorReport.objects.count() == 2


@pytest.mark.django_db
def test_command_no_save_stores_nothing():
    offline_connector()

    with pytest.raises(CommandError):
        call_command("doctor", "THG data", "--no-save", verbosity=0)

    assert not DoctorReport.objects.exists()


@pytest.mark.django_db
def test_command_unknown_name_lists_connectors():
    offline_connector()

    with pytest.raises(CommandError, match="No connector is named 'nope'"):
        call_command("doctor", "nope")


@pytest.mark.django_db
def test_command_installs_the_daily_schedule(capsys):
    call_command("doctor", "--install-schedule")
    call_command("doctor", "--install-schedule")

    schedule = Schedule.objects.get(name="doctor:daily")
    assert schedule.func == "connectors.doctor.tasks.run_doctor_task"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
    assert "Schedule 'doctor:daily' runs" in capsys.readouterr().out


@pytest.mark.django_db
def test_daily_task_stores_a_report_per_connector():
    offline_connector(name="THG one")

    line = run_doctor_task()

    report = DoctorReport.objects.get()
    assert report.trigger == DoctorReport.Trigger.SCHEDULE
    assert line == (
        "Doctor checked 1 connector: 1 with errors (THG one), 0 with warnings only."
    )
    assert [r.connector.name for r in latest_reports()] == ["THG one"]
    assert latest_reports()[0].headline == "The channel cannot be reached"


@pytest.mark.django_db
def test_second_run_replaces_the_report():
    offline_connector()
    run_doctor_task()
    first = DoctorReport.objects.get()

    run_doctor_task()

    second = DoctorReport.objects.get()
    assert second.pk == first.pk
    assert second.ran_at > first.ran_at


@pytest.mark.django_db
def test_check_that_raises_becomes_an_error_finding(monkeypatch):
    connector = offline_connector()
    index = next(i for i, c in enumerate(CHECKS) if c.id == "returns")

    def broken(context):
        raise RuntimeError("boom")

    patched = list(CHECKS)
    patched[index] = type(CHECKS[index])(
        CHECKS[index].id, CHECKS[index].symptom, broken, CHECKS[index].kinds
    )
    monkeypatch.setattr("connectors.doctor.runner.CHECKS", tuple(patched))

    diagnosis = diagnose(connector)

    failed = [f for f in diagnosis.findings if f.code == "check_failed"]
    assert len(failed) == 1
    assert failed[0].severity == Severity.ERROR
    assert failed[0].message == "The check itself failed with RuntimeError: boom"
    assert "outbox" in diagnosis.checks
