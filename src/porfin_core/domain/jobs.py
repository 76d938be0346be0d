"""Durable jobs: work to do later, kept in the store until it is done.

A :class:`Job` names a handler (``kind``, e.g. ``appointment.reminder``), carries a payload of
plain values and becomes due at ``run_at``. Jobs are written in the same transaction as the
change that causes them (booking an appointment schedules its reminders), so neither exists
without the other, and they survive restarts.

A worker claims due jobs in a committed transaction before running them: the attempt is
counted, the job is ``running`` and its ``run_at`` moves one :data:`LEASE` ahead. A worker that
dies mid-run leaves the job to be claimed again when the lease runs out, so a job runs **at
least once**, and its handler must tolerate running twice. A failed run is retried with an
exponential backoff until ``max_attempts`` runs have been made; then the job is ``failed``.

Each job has an idempotency key, unique in its clinic: scheduling a key that is already taken
schedules nothing and gives back the job that holds it. Jobs of one ``subject``
(``appointment:<id>``) can be cancelled together.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from porfin_core.errors import ValidationError

LEASE = timedelta(minutes=5)
"""How long a claimed run is left alone before it is taken for lost and run again."""

DEFAULT_MAX_ATTEMPTS = 5
"""Runs in all (the first one included) before a job is marked failed."""

MAX_MAX_ATTEMPTS = 100
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)

MAX_KEY_LENGTH = 200
"""Longest idempotency key, subject or kind (characters)."""

MAX_ERROR_LENGTH = 1000
"""A run's error is kept up to this many characters."""


class JobStatus(enum.StrEnum):
    """Where a job is in its life.

    ``scheduled`` and ``running`` jobs are *active* (they will run, or run again if their
    lease runs out); ``done``, ``failed`` and ``cancelled`` ones are *finished* and never
    run again.
    """

    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = frozenset({JobStatus.SCHEDULED, JobStatus.RUNNING})


@attrs.define(kw_only=True)
class Job:
    """A unit of deferred work of one clinic.

    Build new jobs with :meth:`new`, which checks the values.

    Attributes:
        id: Porfin's id for the job.
        clinic_id: The clinic the work is for.
        kind: Name of the handler that runs it (``appointment.reminder``).
        payload: What the handler needs: strings, 64-bit integers, finite floats, booleans,
            None, and lists and string-keyed dicts of those (ids rather than copies of
            records: the handler reads the current state when it runs).
        run_at: When the job is due; for a ``running`` job, when its lease ends.
        idempotency_key: Unique in the clinic: scheduling it again keeps the first job.
        subject: What the job is about (``appointment:<id>``), for cancelling together.
        status: See :class:`JobStatus`.
        attempts: Runs started so far.
        max_attempts: Runs allowed in all.
        last_error: Why the last run failed.
        created_at: When the job was scheduled.
        finished_at: When it became done, failed or cancelled.
    """

    id: str
    clinic_id: str
    kind: str
    payload: dict[str, Any] = attrs.field(factory=dict)
    run_at: datetime
    idempotency_key: str
    subject: str | None = None
    status: JobStatus = JobStatus.SCHEDULED
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    last_error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def new(
        cls,
        *,
        id: str,
        clinic_id: str,
        kind: str,
        run_at: datetime,
        idempotency_key: str,
        now: datetime,
        payload: Mapping[str, Any] | None = None,
        subject: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> Job:
        """A scheduled job, its values checked.

        Raises:
            ValidationError: an empty or too long kind, key or subject; a naive ``run_at``;
                ``max_attempts`` out of 1–100; a payload value that is not plain data.
        """
        _check_name("kind", kind)
        _check_name("idempotency_key", idempotency_key)
        if subject is not None:
            _check_name("subject", subject)
        if run_at.tzinfo is None or run_at.utcoffset() is None:
            raise ValidationError("run_at must carry a time zone", field="run_at")
        if isinstance(max_attempts, bool) or not 1 <= max_attempts <= MAX_MAX_ATTEMPTS:
            raise ValidationError(
                f"max_attempts must be between 1 and {MAX_MAX_ATTEMPTS}", field="max_attempts"
            )
        plain = dict(payload or {})
        _check_plain(plain, "payload")
        return cls(
            id=id,
            clinic_id=clinic_id,
            kind=kind,
            payload=plain,
            run_at=run_at,
            idempotency_key=idempotency_key,
            subject=subject,
            max_attempts=max_attempts,
            created_at=now,
        )

    @property
    def active(self) -> bool:
        """Whether the job may still run (scheduled, or running)."""
        return self.status in ACTIVE

    @property
    def exhausted(self) -> bool:
        """Whether no run is left after the current one."""
        return self.attempts >= self.max_attempts

    def is_due(self, now: datetime) -> bool:
        """Whether a worker may claim the job at ``now`` (a running job: its lease ran out)."""
        return self.active and self.run_at <= now

    def claim(self, now: datetime, lease: timedelta = LEASE) -> None:
        """Start a run: nobody else takes the job until ``now + lease``."""
        self.status = JobStatus.RUNNING
        self.attempts += 1
        self.run_at = now + lease

    def succeed(self, now: datetime) -> None:
        """The run did the work: the job is done."""
        self.status = JobStatus.DONE
        self.last_error = None
        self.finished_at = now

    def retry_later(self, now: datetime, error: str) -> None:
        """The run failed: run again after the backoff, or fail for good if no run is left."""
        if self.exhausted:
            self.fail(now, error)
            return
        self.status = JobStatus.SCHEDULED
        self.run_at = now + retry_delay(self.attempts)
        self.last_error = _clip(error)

    def fail(self, now: datetime, error: str) -> None:
        """The job cannot succeed (no runs left, or no handler for its kind)."""
        self.status = JobStatus.FAILED
        self.last_error = _clip(error)
        self.finished_at = now

    def cancel(self, now: datetime) -> bool:
        """Never run the job again; returns False (and changes nothing) when it had finished.

        A run already in progress is not interrupted: its outcome is ignored.
        """
        if not self.active:
            return False
        self.status = JobStatus.CANCELLED
        self.finished_at = now
        return True


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed run number ``attempt`` (1-based): :data:`FIRST_RETRY`, doubling,
    at most :data:`LONGEST_RETRY` (10 s, 20 s, 40 s ... 1 h)."""
    delay: timedelta = FIRST_RETRY * 2 ** min(max(0, attempt - 1), 20)
    return min(LONGEST_RETRY, delay)


@attrs.frozen(kw_only=True)
class JobOutcome:
    """What came of one run of a job.

    Attributes:
        clinic_id: The job's clinic.
        job_id: The job.
        attempt: Which run this was (the job's ``attempts`` when it was claimed): the
            failure of a run whose lease ran out, while a later run is in progress, is
            ignored.
        error: Why the run failed; None when it succeeded.
        retryable: Whether running again may succeed (False: the job fails at once).
    """

    clinic_id: str
    job_id: str
    attempt: int
    error: str | None = None
    retryable: bool = True

    @property
    def succeeded(self) -> bool:
        """Whether the run did its work."""
        return self.error is None


def _clip(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def _check_name(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(value) > MAX_KEY_LENGTH:
        raise ValidationError(f"{field} is longer than {MAX_KEY_LENGTH} characters", field=field)


def _check_plain(value: object, where: str) -> None:
    """Plain data every store keeps alike (JSON's values, finite numbers)."""
    if value is None or isinstance(value, str | bool):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValidationError(f"{where} is too large a number", field="payload")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{where} is not a finite number", field="payload")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key or (key.startswith("__") and key.endswith("__")):
                # Firestore keeps no empty field name and reserves __names__.
                raise ValidationError(f"{where} has an invalid key: {key!r}", field="payload")
            _check_plain(item, f"{where}.{key}")
        return
    raise ValidationError(
        f"{where} holds a {type(value).__name__}, not plain data", field="payload"
    )
