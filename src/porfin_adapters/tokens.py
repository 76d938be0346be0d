"""The installation's admin API token: from the settings, or generated once and kept in the
data directory with owner-only permissions."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from porfin_adapters.settings import Settings


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """Return the admin token and whether it was just generated.

    ``PORFIN_ADMIN_TOKEN`` wins; otherwise the token file in the data directory is read, or
    created (mode 0600) on first start.
    """
    if settings.admin_token:
        return settings.admin_token, False
    return ensure_secret_file(settings.token_path)


def ensure_jwt_secret(settings: Settings) -> str:
    """The key that signs access tokens: ``PORFIN_JWT_SECRET`` or a generated file."""
    return settings.jwt_secret or ensure_secret_file(settings.jwt_secret_path)[0]


def ensure_secret_file(path: Path) -> tuple[str, bool]:
    """Read the secret kept in ``path``, or create it (mode 0600); True when just created."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def read_admin_token(settings: Settings) -> str | None:
    """The admin token if one exists, without creating it."""
    if settings.admin_token:
        return settings.admin_token
    path = settings.token_path
    return path.read_text(encoding="utf-8").strip() if path.exists() else None
