-- Merged customers: a customer merged into another (two records of one person) stays stored,
-- its document naming the survivor in `merged_into`; the column keeps it out of the customer
-- list. Its identities and search keys are released when it is merged, so nothing else
-- finds it. Every customer stored before this migration stands on its own (NULL).

ALTER TABLE customers ADD COLUMN merged_into TEXT;
