"""Mercado Pago's webhook signature: ``x-signature: ts=...,v1=...`` over a manifest.

Per Mercado Pago's "Validar origem da notificação" (reference §4.2): the manifest is
``id:<data.id>;request-id:<x-request-id>;ts:<ts>;`` (``data.id`` lower-cased when
alphanumeric; a segment whose value is absent is left out entirely), and ``v1`` is the
HMAC-SHA256 of it keyed with the application's webhook secret, in hex.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def parse_signature(header: str) -> tuple[str, str] | None:
    """``(ts, v1)`` from an ``x-signature`` value (parts in any order), or None when one is
    missing."""
    parts: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.partition("=")
        if sep:
            parts[key.strip().lower()] = value.strip()
    ts, v1 = parts.get("ts"), parts.get("v1")
    if not ts or not v1:
        return None
    return ts, v1


def manifest(data_id: str | None, request_id: str | None, ts: str) -> str:
    """The signed text: ``id:...;request-id:...;ts:...;`` without the absent segments."""
    text = ""
    if data_id:
        text += f"id:{data_id.lower()};"
    if request_id:
        text += f"request-id:{request_id};"
    return text + f"ts:{ts};"


def sign(secret: str, data_id: str | None, request_id: str | None, ts: str) -> str:
    """``v1`` for these values (hex HMAC-SHA256 of :func:`manifest` with ``secret``)."""
    message = manifest(data_id, request_id, ts).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_valid(
    secret: str, headers: Mapping[str, str], data_id: str | None
) -> tuple[bool, str | None]:
    """Whether ``headers`` carry a valid ``x-signature`` for ``data_id``, and its ``ts``.

    ``headers`` must have lower-case names. An empty ``secret`` never validates (fail
    closed). The comparison is constant-time.
    """
    parsed = parse_signature(headers.get("x-signature", ""))
    if not secret or parsed is None:
        return False, None
    ts, v1 = parsed
    expected = sign(secret, data_id, headers.get("x-request-id") or None, ts)
    return hmac.compare_digest(expected.encode(), v1.lower().encode()), ts
