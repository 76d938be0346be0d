-- The customer list: newest first, filtered by funnel stage and tag, searched by the words of
-- the name and the digits of the phone, without reading the JSON documents (10k+ customers a
-- clinic).
--
-- `customer_keys` holds, per customer, `n:<word>` for each folded word of the name, `p:<digits>`
-- for each suffix (3+ digits) of the phone's digits and `t:<tag>` for each tag
-- (porfin_adapters.customer_search.customer_keys). A word prefix or a run of phone digits is
-- then one range scan of its primary key (`key >= 'n:conc' AND key < 'n:cond'`); a tag, one
-- lookup. The repository keeps the keys in step with the document on every save.
--
-- `porfin_customer_keys(doc)` is a Python function the migration runner registers
-- (sqlite/database.py): the folding of names (case, accents) is Python's, the same in every
-- store.

ALTER TABLE customers ADD COLUMN stage TEXT NOT NULL DEFAULT 'new_lead';

UPDATE customers SET stage = json_extract(doc, '$.stage');

CREATE INDEX customers_by_recency ON customers (clinic_id, created_micros DESC, id DESC);
CREATE INDEX customers_by_stage ON customers (clinic_id, stage, created_micros DESC, id DESC);

CREATE TABLE customer_keys (
    clinic_id TEXT NOT NULL,
    key TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (clinic_id, key, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_keys_by_customer ON customer_keys (customer_id);

INSERT OR IGNORE INTO customer_keys (clinic_id, key, customer_id)
    SELECT c.clinic_id, k.value, c.id
    FROM customers c, json_each(porfin_customer_keys(c.doc)) k;
