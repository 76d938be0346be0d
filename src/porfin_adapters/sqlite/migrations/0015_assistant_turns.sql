-- The AI receptionist's turns: the turn's document plus the columns a chat's trace is listed
-- by (newest first; `started_micros` is the start in microseconds since the epoch, UTC;
-- `chat_id` is NULL for a sandbox conversation).
-- Spending: one row per clinic and month (`YYYY-MM`), read and rewritten by every turn that
-- called a model; `version` makes two turns that read the same month conflict.

CREATE TABLE assistant_turns (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    chat_id TEXT,
    started_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX assistant_turns_by_chat
    ON assistant_turns (clinic_id, chat_id, started_micros DESC, id DESC);

CREATE TABLE assistant_usage (
    clinic_id TEXT NOT NULL,
    month TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    doc TEXT NOT NULL,
    PRIMARY KEY (clinic_id, month)
);
