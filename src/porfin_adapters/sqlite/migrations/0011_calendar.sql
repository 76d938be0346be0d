-- Google Calendar sync and private ICS feeds: each professional's connected calendar, each
-- appointment's event in it, the calendar's busy time, and each professional's feed token
-- (its SHA-256 only). Each entity is its JSON document next to the columns its queries need.

-- One per professional: `id` is `clinic_id|professional_id`.
CREATE TABLE calendar_connections (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX calendar_connections_by_clinic ON calendar_connections (clinic_id, professional_id);

-- One per appointment: `id` is `clinic_id|appointment_id`; `external_id` is the event's id in
-- the calendar (NULL once deleted), looked up when a pull reports a deletion.
CREATE TABLE calendar_links (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    external_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX calendar_links_by_professional
    ON calendar_links (clinic_id, professional_id, appointment_id);
CREATE INDEX calendar_links_by_event
    ON calendar_links (clinic_id, external_id) WHERE external_id IS NOT NULL;

-- One per professional: `id` is `clinic_id|professional_id`.
CREATE TABLE calendar_busy (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    doc TEXT NOT NULL
);

-- One per professional: `id` is `clinic_id|professional_id`; a feed URL's token is found by
-- its hash.
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 1,
    clinic_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
