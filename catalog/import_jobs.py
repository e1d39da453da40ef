"""Mapping imports recorded as :class:`~catalog.models.ImportJob` rows.

Every import that may write goes through a job, so the admin can show its
outcome. A large upload is checked and written by django-q2 tasks:
:func:`start_job` queues the check (a dry run), the job page shows the
result, and :func:`confirm_job` queues the write. The command and small
uploads run the same steps in the caller's process with :func:`run_now`.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .mapping_import import ImportReport, import_file
from .models import ImportJob

logger = logging.getLogger(__name__)

#: Rejected rows stored on the job; the job counts all of them.
MAX_STORED_ERRORS = 1000
#: Progress is written to the job at most every this many rows.
PROGRESS_STEP = 1000

# NOTE: a job whose worker died mid-step stays CHECKING or RUNNING, and no
# task claims it again; upload the file again to start a new job.
_CLAIMS = {
    ImportJob.Status.PENDING: ImportJob.Status.CHECKING,
    ImportJob.Status.QUEUED: ImportJob.Status.RUNNING,
}


def create_job(
    connector,
    content: bytes,
    file_name: str,
    *,
    user=None,
    skip_bad_rows: bool = False,
    dry_run: bool = False,
) -> ImportJob:
    """Create a job for ``content``, waiting to be checked (or written)."""
    status = ImportJob.Status.PENDING if dry_run else ImportJob.Status.QUEUED
    return ImportJob.objects.create(
        connector=connector,
        created_by=user if user is not None and user.is_authenticated else None,
        file_name=file_name[:255],
        content=content,
        skip_bad_rows=skip_bad_rows,
        dry_run=dry_run,
        status=status,
    )


def _queue(job: ImportJob) -> None:
    from django_q.tasks import async_task

    job_id = job.pk
    transaction.on_commit(
        lambda: async_task(
            "catalog.tasks.run_import_job", job_id, task_name=f"mapping-import-{job_id}"
        )
    )


def start_job(
    connector, content: bytes, file_name: str, *, user=None, skip_bad_rows=False
) -> ImportJob:
    """Create a job for a large upload and queue its check after commit.

    The check is a dry run; once it passes, :func:`confirm_job` queues the
    write.
    """
    job = create_job(
        connector,
        content,
        file_name,
        user=user,
        skip_bad_rows=skip_bad_rows,
        dry_run=True,
    )
    _queue(job)
    logger.info("Import job %s: queued the check of %s", job.pk, file_name)
    return job


def confirm_job(job: ImportJob) -> bool:
    """Queue the write of a checked job; return False if it was not checked.

    The conditional update makes a double click queue one write only.
    """
    changed = ImportJob.objects.filter(
        pk=job.pk, status=ImportJob.Status.CHECKED
    ).update(status=ImportJob.Status.QUEUED, dry_run=False)
    if not changed:
        return False
    job.status = ImportJob.Status.QUEUED
    job.dry_run = False
    _queue(job)
    logger.info("Import job %s: queued the write", job.pk)
    return True


def run_now(connector, content: bytes, file_name: str, **options) -> ImportJob:
    """Create a job and run it in this process; return the finished job.

    Takes the options of :func:`create_job`. The report of the run is on
    ``job.report``.
    """
    job = create_job(connector, content, file_name, **options)
    return run_job(job.pk)


def run_job(job_id: int) -> ImportJob | None:
    """Run the step the job waits for: the check (a dry run) or the write.

    Safe to run twice: the job is claimed with a conditional update, and a
    job already claimed or finished is left alone (None is returned).
    """
    job = ImportJob.objects.select_related("connector").filter(pk=job_id).first()
    if job is None or job.status not in _CLAIMS:
        return None
    claimed_status = _CLAIMS[job.status]
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job.pk, status=job.status).update(
        status=claimed_status, started_at=now, processed_rows=0
    )
    if not claimed:
        return None
    checking = claimed_status == ImportJob.Status.CHECKING
    job.status = claimed_status
    logger.info(
        "Import job %s: %s %s into connector %s",
        job.pk,
        "checking" if checking else "importing",
        job.file_name,
        job.connector_id,
    )
    try:
        report = import_file(
            job.connector,
            bytes(job.content),
            dry_run=checking or job.dry_run,
            skip_bad_rows=job.skip_bad_rows,
            progress=_progress_recorder(job),
        )
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            error=f"The import failed unexpectedly: {exc!r}. Nothing was written.",
            finished_at=timezone.now(),
            content=b"",
        )
        logger.exception("Import job %s: failed", job.pk)
        raise
    _store_report(job, report, checking)
    job.report = report
    return job


def _progress_recorder(job: ImportJob):
    """Return a progress callback that writes to the job every few rows."""
    last_written = 0

    def record(done: int, total: int) -> None:
        nonlocal last_written
        if done - last_written < PROGRESS_STEP and done < total:
            return
        last_written = done
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=done, total_rows=total
        )

    return record


def _store_report(job: ImportJob, report: ImportReport, checking: bool) -> None:
    if report.blocked:
        status = ImportJob.Status.INVALID
    elif checking:
        status = ImportJob.Status.CHECKED
    else:
        status = ImportJob.Status.SUCCEEDED

    values = {
        "status": status,
        "total_rows": report.total_rows,
        "processed_rows": report.total_rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "merged": report.merged,
        "rejected": report.rejected,
        "error_count": len(report.errors),
        "row_errors": [error.as_dict() for error in report.errors[:MAX_STORED_ERRORS]],
        "warnings": report.warnings,
        "error": report.file_error,
        "finished_at": timezone.now(),
    }
    if status != ImportJob.Status.CHECKED:
        # The file is kept only while it waits for confirmation.
        values["content"] = b""
    for name, value in values.items():
        setattr(job, name, value)
    job.save(update_fields=list(values))
    logger.info("Import job %s: %s. %s", job.pk, status, report.summary())
