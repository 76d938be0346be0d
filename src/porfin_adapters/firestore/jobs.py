"""Firestore durable jobs (wired into :class:`FirestoreUnitOfWork` as ``uow.jobs``).

Layout::

    {root}jobs/{job_id}                      the job (+ _due_micros while it is active,
                                             + _subject: clinic_id|subject)
    {root}job_keys/{clinic_id|key}           -> {clinic_id, job_id}: one job per idempotency
                                             key of a clinic

One top-level collection, so a worker finds every clinic's due jobs with one query on
``_due_micros`` (absent from finished jobs: the query never reads them). Like the other lookup
documents, ``job_keys`` makes concurrent schedulings of one key conflict: both transactions
read the missing document, the loser is retried and finds the winner's job. A job's clinic,
key and subject never change.
"""

from __future__ import annotations

from datetime import datetime

from google.cloud.firestore import AsyncDocumentReference, FieldFilter

from porfin_adapters.firestore.storage import Doc, _doc_id, _load, _Repo, _Session
from porfin_adapters.serialization import to_document, utc_micros
from porfin_core.domain.jobs import Job
from porfin_core.errors import NotFound


class FirestoreJobRepository(_Repo):
    """Jobs at ``{root}jobs/{id}``, idempotency keys at ``{root}job_keys/{clinic|key}``."""

    def __init__(self, session: _Session) -> None:
        super().__init__(session)
        self._added: dict[str, Job] = {}

    def _ref(self, job_id: str) -> AsyncDocumentReference:
        return self._s.top("jobs").document(_doc_id(job_id))

    def _key(self, clinic_id: str, idempotency_key: str) -> AsyncDocumentReference:
        return self._s.top("job_keys").document(_doc_id(clinic_id, idempotency_key))

    async def add(self, job: Job) -> Job:
        key_ref = self._key(job.clinic_id, job.idempotency_key)
        added = self._added.get(key_ref.path)
        if added is not None:
            return added
        existing = await self.find_by_key(job.clinic_id, job.idempotency_key)
        if existing is not None:
            return existing
        self._added[key_ref.path] = job
        self._s.put(key_ref, {"clinic_id": job.clinic_id, "job_id": job.id})
        await self.save(job)
        return job

    async def get(self, clinic_id: str, job_id: str) -> Job:
        doc = await self._s.get(self._ref(job_id))
        if doc is None or doc.get("clinic_id") != clinic_id:
            raise NotFound("job not found", id=job_id)
        return _load(doc, Job)

    async def find_by_key(self, clinic_id: str, idempotency_key: str) -> Job | None:
        holder = await self._s.get(self._key(clinic_id, idempotency_key))
        if holder is None:
            return None
        doc = await self._s.get(self._ref(holder["job_id"]))
        return None if doc is None else _load(doc, Job)

    async def due(self, now: datetime, limit: int) -> list[Job]:
        # Ties on _due_micros come in document-id order (Firestore's implicit last order).
        query = (
            self._s.top("jobs")
            .where(filter=FieldFilter("_due_micros", "<=", utc_micros(now)))
            .order_by("_due_micros")
            .limit(limit)
        )
        return [_load(s.to_dict() or {}, Job) for s in await self._s.query(query)]

    async def for_subject(self, clinic_id: str, subject: str) -> list[Job]:
        query = self._s.top("jobs").where(
            filter=FieldFilter("_subject", "==", _doc_id(clinic_id, subject))
        )
        jobs = [_load(s.to_dict() or {}, Job) for s in await self._s.query(query)]
        return sorted(jobs, key=lambda j: (j.run_at, j.id))

    async def save(self, job: Job) -> None:
        doc: Doc = to_document(job)
        if job.active:
            doc["_due_micros"] = utc_micros(job.run_at)
        if job.subject is not None:
            doc["_subject"] = _doc_id(job.clinic_id, job.subject)
        self._s.put(self._ref(job.id), doc)
