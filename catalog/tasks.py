"""django-q2 tasks of the catalog; each calls one service."""

from . import import_jobs


def run_import_job(job_id: int) -> str:
    """Run the waiting step of a mapping import job; return its new status."""
    job = import_jobs.run_job(job_id)
    if job is None:
        return f"Import job {job_id}: already claimed or finished; nothing done."
    return f"Import job {job_id}: {job.get_status_display()}. {job.report.summary()}"
