-- One-time account tokens (invitations and password resets; only the SHA-256 is kept), and
-- refresh tokens found by user.

CREATE TABLE account_tokens (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE INDEX account_tokens_by_user ON account_tokens (clinic_id, user_id);

-- A user's sessions, found without reading every token (disable, password change and reset
-- revoke them all).
ALTER TABLE refresh_tokens ADD COLUMN user_id TEXT;
UPDATE refresh_tokens SET user_id = json_extract(doc, '$.user_id');
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
