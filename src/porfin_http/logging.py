"""Structured logging (structlog): human-readable on a terminal, JSON lines in production.

Every line logged while a request is handled carries its ``request_id`` (bound by
``porfin_http.middleware``), including those of the standard library's ``logging`` (uvicorn,
libraries), which are rendered the same way. The setup itself is shared with ``porfin worker``
(:mod:`porfin_adapters.logs`).
"""

from __future__ import annotations

from porfin_adapters.logs import configure_logging

__all__ = ["configure_logging"]
