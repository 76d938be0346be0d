"""SQLite durable jobs (wired into :class:`SqliteUnitOfWork` as ``uow.jobs``).

Table ``jobs`` (migration ``0010_jobs.sql``): the job's document, its clinic, idempotency key
(UNIQUE per clinic), subject, and ``due_micros``, the run time of an active job (NULL once it
finished), which the worker's query and its partial index read. Reads and writes follow
:mod:`porfin_adapters.sqlite.storage`: rows read remember their version (two claimers of one
job conflict), and a key looked up and not found is checked again at commit, so two units of
work scheduling one key concurrently conflict and the retried one finds the first one's job.
"""

from __future__ import annotations

from datetime import datetime

from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.database import Reader
from porfin_adapters.sqlite.storage import _dump, _load, _Repo, _Tracker
from porfin_core.domain.jobs import Job

_JOB_KEYS = frozenset({"clinic_id", "idempotency_key", "subject"})
_BY_KEY = "FROM jobs WHERE clinic_id = ? AND idempotency_key = ?"


class SqliteJobRepository(_Repo):
    """Jobs of every clinic in table ``jobs``."""

    def __init__(self, conn: Reader, tracker: _Tracker) -> None:
        super().__init__(conn, tracker)
        self._added: dict[tuple[str, str], Job] = {}

    async def add(self, job: Job) -> Job:
        added = self._added.get((job.clinic_id, job.idempotency_key))
        if added is not None:
            return added
        existing = await self.find_by_key(job.clinic_id, job.idempotency_key)
        if existing is not None:
            return existing
        self._added[(job.clinic_id, job.idempotency_key)] = job
        await self.save(job)
        return job

    async def get(self, clinic_id: str, job_id: str) -> Job:
        return self._scoped("jobs", Job, clinic_id, job_id, "job")

    async def find_by_key(self, clinic_id: str, idempotency_key: str) -> Job | None:
        params = (clinic_id, idempotency_key)
        job = self._row("jobs", f"SELECT id, version, doc {_BY_KEY}", params, Job)
        if job is None:
            self._tracker.still_absent(f"SELECT 1 {_BY_KEY}", params)
        return job

    async def due(self, now: datetime, limit: int) -> list[Job]:
        rows = self._conn.execute(
            "SELECT id, version, doc FROM jobs WHERE due_micros <= ?"
            " ORDER BY due_micros, id LIMIT ?",
            (utc_micros(now), limit),
        ).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded("jobs", row_id, version)
        return [_load(doc, Job) for _, _, doc in rows]

    async def for_subject(self, clinic_id: str, subject: str) -> list[Job]:
        rows = self._conn.execute(
            "SELECT id, version, doc FROM jobs WHERE clinic_id = ? AND subject = ?",
            (clinic_id, subject),
        ).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded("jobs", row_id, version)
        jobs = [_load(doc, Job) for _, _, doc in rows]
        return sorted(jobs, key=lambda j: (j.run_at, j.id))

    async def save(self, job: Job) -> None:
        self._tracker.upsert(
            "jobs",
            job.id,
            {
                "id": job.id,
                "clinic_id": job.clinic_id,
                "idempotency_key": job.idempotency_key,
                "subject": job.subject,
                "due_micros": utc_micros(job.run_at) if job.active else None,
                "doc": _dump(job),
            },
            immutable=_JOB_KEYS,
        )
