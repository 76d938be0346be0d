-- Staff accounts and their refresh tokens (only the SHA-256 of each token is kept).
-- An e-mail (normalized) belongs to one account in the whole installation: logins name no
-- clinic.

CREATE TABLE staff_users (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX staff_users_by_clinic ON staff_users (clinic_id, created_micros, id);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
