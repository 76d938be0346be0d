-- The knowledge base's embeddings (porfin_adapters.knowledge.hybrid), when an embedder is
-- configured (OpenAI's): one unit vector per chunk, float32 little-endian in a BLOB (`dims`
-- values), of the model that made it; vectors of another model are ignored until a reindex
-- replaces them. A vector goes with its chunk (ON DELETE CASCADE). Chunks without a row here
-- (added while the embedder was down, or before it was configured) are found by their words
-- only, until `porfin kb reindex`.

CREATE TABLE knowledge_vectors (
    chunk_id TEXT PRIMARY KEY REFERENCES knowledge_chunks (id) ON DELETE CASCADE,
    clinic_id TEXT NOT NULL,
    model TEXT NOT NULL,
    dims INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX knowledge_vectors_by_clinic ON knowledge_vectors (clinic_id, model);
