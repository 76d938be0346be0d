-- Scheduling: professionals, appointment types, clinic closures, appointments, the waitlist,
-- and the agenda locks that keep two bookings from taking one professional's time at once.
-- Each entity is its JSON document next to the columns its queries need (see storage.py).

CREATE TABLE professionals (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX professionals_by_clinic ON professionals (clinic_id, created_micros, id);

CREATE TABLE appointment_types (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX appointment_types_by_clinic ON appointment_types (clinic_id, created_micros, id);

CREATE TABLE closures (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    start_micros INTEGER NOT NULL,
    end_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX closures_by_end ON closures (clinic_id, end_micros);

-- An appointment never changes clinic, customer or professional; its start moves when it is
-- rescheduled.
CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    start_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX appointments_by_start ON appointments (clinic_id, start_micros, id);
CREATE INDEX appointments_by_professional
    ON appointments (clinic_id, professional_id, start_micros, id);
CREATE INDEX appointments_by_customer ON appointments (clinic_id, customer_id, start_micros, id);

CREATE TABLE waitlist (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    type_id TEXT NOT NULL,
    status TEXT NOT NULL,
    since_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX waitlist_by_type ON waitlist (clinic_id, type_id, status, since_micros, id);

-- One row per professional and local day that a booking touched: every booking or reschedule
-- reads its days' rows and rewrites them (version + 1), so two units of work deciding on the
-- same agenda at once conflict and the loser is retried against the winner's booking.
CREATE TABLE agenda_locks (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    day TEXT NOT NULL
);
