-- Chats waiting for a person (`Chat.waiting_since`, listed oldest wait first by
-- `GET /api/v1/chats?waiting=true`) and the clinic's messages by time (the dashboard's day).
--
-- Backfill: an open chat's `unanswered_since` is its first patient message (not a reaction)
-- after the last answer: a message of staff or of the clinic's phone, or of the AI (in a
-- chat a person has, the AI's note that is the chat's last message is no answer: it was the
-- handoff). An open chat in mode `human` or `paused` with an unanswered message waits since
-- that message (`waiting_micros`, its record time).

ALTER TABLE chats ADD COLUMN waiting_micros INTEGER;
CREATE INDEX chats_by_wait ON chats (clinic_id, waiting_micros, id)
    WHERE waiting_micros IS NOT NULL;
CREATE INDEX messages_by_clinic_time ON messages (clinic_id, created_micros, id);

CREATE TEMP TABLE waiting_backfill AS
SELECT c.id AS chat_id, (
    SELECT m.id FROM messages m
    WHERE m.chat_id = c.id
      AND json_extract(m.doc, '$.author') = 'patient'
      AND json_extract(m.doc, '$.kind') <> 'reaction'
      AND m.created_micros > COALESCE((
          SELECT MAX(r.created_micros) FROM messages r
          WHERE r.chat_id = c.id AND (
              json_extract(r.doc, '$.author') IN ('staff', 'clinic_phone')
              OR (json_extract(r.doc, '$.author') = 'ai' AND (
                  c.mode = 'ai'
                  OR r.created_micros < (
                      SELECT MAX(l.created_micros) FROM messages l WHERE l.chat_id = c.id
                  )
              ))
          )
      ), -1)
    ORDER BY m.created_micros, m.id
    LIMIT 1
) AS message_id
FROM chats c
WHERE c.status = 'open';

UPDATE chats SET doc = json_set(doc, '$.unanswered_since', (
    SELECT json_extract(m.doc, '$.created_at')
    FROM waiting_backfill w JOIN messages m ON m.id = w.message_id
    WHERE w.chat_id = chats.id
))
WHERE id IN (SELECT chat_id FROM waiting_backfill WHERE message_id IS NOT NULL);

UPDATE chats SET
    waiting_micros = (
        SELECT m.created_micros
        FROM waiting_backfill w JOIN messages m ON m.id = w.message_id
        WHERE w.chat_id = chats.id
    ),
    doc = json_set(doc, '$.waiting_since', json_extract(doc, '$.unanswered_since'))
WHERE mode IN ('human', 'paused')
  AND id IN (SELECT chat_id FROM waiting_backfill WHERE message_id IS NOT NULL);

DROP TABLE waiting_backfill;
