-- The audit log: append-only, hash-chained records per clinic (see docs/audit.md).
-- One column per field of porfin_core.domain.audit.AuditRecord (no JSON document: auditors
-- read this table with plain SQL). `at_micros` is the time in microseconds since the epoch
-- (UTC); `details` is a JSON object of strings.

CREATE TABLE audit_log (
    clinic_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_micros INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    source TEXT NOT NULL,
    request_id TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (clinic_id, seq)
) WITHOUT ROWID;
CREATE INDEX audit_log_by_time ON audit_log (clinic_id, at_micros DESC, seq DESC);
CREATE INDEX audit_log_by_actor ON audit_log (clinic_id, actor_id, at_micros DESC, seq DESC);
CREATE INDEX audit_log_by_resource
    ON audit_log (clinic_id, resource_type, resource_id, at_micros DESC, seq DESC);

-- The last link of each clinic's chain, kept apart from the records: a chain shorter than its
-- head lost records at its end, which the chain alone cannot show.
CREATE TABLE audit_heads (
    clinic_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
) WITHOUT ROWID;

-- Append-only. Tampering needs dropping these triggers first (deliberate, and still caught by
-- `porfin audit verify`).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

-- A record must take the next place of its clinic's chain: never a fork, never a gap.
CREATE TRIGGER audit_log_in_chain BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT COALESCE((SELECT seq FROM audit_heads WHERE clinic_id = NEW.clinic_id), 0) + 1
    OR NEW.prev_hash IS NOT COALESCE(
        (SELECT hash FROM audit_heads WHERE clinic_id = NEW.clinic_id),
        '0000000000000000000000000000000000000000000000000000000000000000'
    )
BEGIN
    SELECT RAISE(ABORT, 'audit record does not continue its chain');
END;

CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'audit chain heads cannot be removed');
END;

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE ON audit_heads
WHEN NEW.clinic_id IS NOT OLD.clinic_id OR NEW.seq IS NOT OLD.seq + 1
BEGIN
    SELECT RAISE(ABORT, 'an audit chain head only moves forward');
END;
