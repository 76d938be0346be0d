-- The sending outbox: one row per outbound message not yet accepted by its provider, found
-- by the sender in order of due time.

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    due_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX deliveries_by_due ON deliveries (due_micros);
