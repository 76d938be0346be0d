"""In-memory durable jobs (wired into :class:`MemoryUnitOfWork` as ``uow.jobs``).

Tables ``jobs`` (documents by id) and ``job_keys`` (``clinic_id|idempotency_key`` -> job id).
Write units of work run one at a time, so an idempotency key checked against the committed
state and this unit of work's own writes cannot be taken by anyone else before the commit.
"""

from __future__ import annotations

from datetime import datetime

from porfin_adapters.memory.storage import Doc, MemoryStore, _Repos
from porfin_adapters.serialization import from_document, to_document
from porfin_core.domain.jobs import Job
from porfin_core.errors import NotFound


def _key(clinic_id: str, idempotency_key: str) -> str:
    return f"{clinic_id}|{idempotency_key}"


class MemoryJobRepository(_Repos):
    """Jobs of every clinic."""

    def __init__(self, store: MemoryStore, writes: dict[tuple[str, str], Doc | None]) -> None:
        super().__init__(store, writes)
        self._added: dict[str, Job] = {}

    async def add(self, job: Job) -> Job:
        key = _key(job.clinic_id, job.idempotency_key)
        added = self._added.get(key)
        if added is not None:
            return added
        existing = await self.find_by_key(job.clinic_id, job.idempotency_key)
        if existing is not None:
            return existing
        self._added[key] = job
        self._put("job_keys", key, {"job_id": job.id})
        await self.save(job)
        return job

    async def get(self, clinic_id: str, job_id: str) -> Job:
        doc = self._get("jobs", job_id, "job")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("job not found", id=job_id)
        return from_document(doc, Job)

    async def find_by_key(self, clinic_id: str, idempotency_key: str) -> Job | None:
        holder = self._table("job_keys").get(_key(clinic_id, idempotency_key))
        if holder is None:
            return None
        return from_document(self._table("jobs")[holder["job_id"]], Job)

    async def due(self, now: datetime, limit: int) -> list[Job]:
        jobs = [from_document(doc, Job) for doc in self._table("jobs").values()]
        due = sorted((j for j in jobs if j.is_due(now)), key=lambda j: (j.run_at, j.id))
        return due[:limit]

    async def for_subject(self, clinic_id: str, subject: str) -> list[Job]:
        jobs = [
            from_document(doc, Job)
            for doc in self._table("jobs").values()
            if doc["clinic_id"] == clinic_id and doc["subject"] == subject
        ]
        return sorted(jobs, key=lambda j: (j.run_at, j.id))

    async def save(self, job: Job) -> None:
        self._put("jobs", job.id, to_document(job))
