-- Durable jobs: one row per job, kept after it finished (its idempotency key stays taken).
-- `due_micros` is the run time of an active (scheduled or running) job and NULL once it is
-- done, failed or cancelled, so the worker's query reads active jobs only.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    subject TEXT,
    due_micros INTEGER,
    doc TEXT NOT NULL,
    UNIQUE (clinic_id, idempotency_key)
);
CREATE INDEX jobs_by_due ON jobs (due_micros, id) WHERE due_micros IS NOT NULL;
CREATE INDEX jobs_by_subject ON jobs (clinic_id, subject) WHERE subject IS NOT NULL;
