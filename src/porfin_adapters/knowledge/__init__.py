"""The knowledge base's adapter side: reading files into text (``extract``) and Brazilian
Portuguese retrieval (``analysis``: folding, stopwords, stemming, synonyms; ``ranking``:
BM25 with a heading boost) shared by the memory and SQLite knowledge bases."""
