-- The knowledge base: documents, their chunks, and an inverted index of the chunks' analyzed
-- terms (porfin_adapters.knowledge.analysis: folded, stemmed Portuguese words and synonym
-- concepts), scored in Python with BM25F (porfin_adapters.knowledge.ranking) like the memory
-- store. `knowledge_terms` repeats each chunk's field lengths so one indexed range scan per
-- query term gives everything BM25 needs.

CREATE TABLE knowledge_documents (
    id TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX knowledge_documents_by_hash ON knowledge_documents (clinic_id, sha256);
CREATE INDEX knowledge_documents_by_clinic
    ON knowledge_documents (clinic_id, created_micros DESC, id DESC);

CREATE TABLE knowledge_chunks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    clinic_id TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES knowledge_documents (id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT,
    text TEXT NOT NULL,
    body_length INTEGER NOT NULL,
    heading_length INTEGER NOT NULL
);
CREATE INDEX knowledge_chunks_by_document ON knowledge_chunks (document_id, ordinal);
CREATE INDEX knowledge_chunks_by_clinic ON knowledge_chunks (clinic_id);

CREATE TABLE knowledge_terms (
    clinic_id TEXT NOT NULL,
    term TEXT NOT NULL,
    chunk_seq INTEGER NOT NULL REFERENCES knowledge_chunks (seq) ON DELETE CASCADE,
    body_tf INTEGER NOT NULL,
    heading_tf INTEGER NOT NULL,
    body_length INTEGER NOT NULL,
    heading_length INTEGER NOT NULL,
    PRIMARY KEY (clinic_id, term, chunk_seq)
) WITHOUT ROWID;
CREATE INDEX knowledge_terms_by_chunk ON knowledge_terms (chunk_seq);
