"""Stores kept as files in the data directory: the media store and the secret store.

Owner-only permissions (directories 0700, files 0600), atomic writes (a temporary file in the
same directory, flushed to disk, then linked or renamed into place) and names that are plain
identifiers, never paths.
"""
