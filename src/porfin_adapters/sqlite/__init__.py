"""SQLite adapters: the embedded default storage."""
