-- Charges (cobranças): the charge's document plus the columns its lists filter and sort on.
-- Transactions: the append-only money log, one column per field of
-- porfin_core.domain.charges.Transaction (auditors read it with plain SQL); `at_micros` is the
-- time in microseconds since the epoch (UTC).

CREATE TABLE charges (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX charges_by_clinic ON charges (clinic_id, created_micros DESC, id DESC);
CREATE INDEX charges_by_customer
    ON charges (clinic_id, customer_id, created_micros DESC, id DESC);
CREATE INDEX charges_by_status ON charges (clinic_id, status, created_micros DESC, id DESC);

CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL,
    charge_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    at_micros INTEGER NOT NULL,
    by TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT
);
CREATE INDEX transactions_by_charge ON transactions (clinic_id, charge_id, at_micros, id);

-- Append-only: money that moved is never rewritten nor erased.
CREATE TRIGGER transactions_no_update BEFORE UPDATE ON transactions
BEGIN
    SELECT RAISE(ABORT, 'transactions are append-only');
END;

CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
BEGIN
    SELECT RAISE(ABORT, 'transactions are append-only');
END;
