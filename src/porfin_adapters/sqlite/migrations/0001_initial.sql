-- Clinics, channels, customers, chats, messages, reconciliation and the event outbox.
-- Entities are stored as JSON documents (`doc`) next to the columns their queries need, with
-- a `version` bumped on every update (optimistic concurrency control).

CREATE TABLE clinics (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX channels_by_clinic ON channels (clinic_id, created_micros);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE customer_identities (
    clinic_id TEXT NOT NULL,
    key TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (clinic_id, key)
) WITHOUT ROWID;
CREATE INDEX customer_identities_by_customer ON customer_identities (customer_id);

CREATE TABLE chats (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id TEXT,
    unread_count INTEGER NOT NULL,
    last_micros INTEGER NOT NULL,
    name_folded TEXT NOT NULL,
    phone_digits TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX chats_by_customer ON chats (clinic_id, customer_id, channel_id);
CREATE INDEX chats_by_recency ON chats (clinic_id, last_micros DESC, id DESC);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    provider_message_id TEXT,
    created_micros INTEGER NOT NULL,
    body TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX messages_by_chat ON messages (chat_id, created_micros DESC, id DESC);
CREATE UNIQUE INDEX messages_by_provider_id
    ON messages (channel_id, provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Full-text search over message bodies, accent-insensitive. A message's body never changes
-- and messages are never deleted; the writer indexes new messages once per group commit, in
-- the same transaction (five times cheaper than a trigger per row). `search_state` remembers
-- the last indexed rowid.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body, content = 'messages', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE search_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_rowid INTEGER NOT NULL
);
INSERT INTO search_state (id, last_rowid) VALUES (1, 0);

CREATE TABLE pending_statuses (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    clinic_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX pending_statuses_by_message
    ON pending_statuses (channel_id, provider_message_id);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
