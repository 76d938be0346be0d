"""Where the inbox keeps its login between runs: the refresh token, per server, in the OS
user's config directory (``~/.config/porfin/sessions.json`` on Linux), readable by that user
only (0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class SessionStore:
    """Refresh tokens by server URL in one JSON file with 0600 permissions.

    Args:
        path: The file (the user's config dir by default, see :func:`default_path`).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def load(self, server: str) -> str | None:
        """The refresh token kept for ``server``, if any."""
        token = self._read().get(server)
        return token if isinstance(token, str) else None

    def save(self, server: str, refresh_token: str) -> None:
        """Keep ``refresh_token`` for ``server`` (replacing the previous one)."""
        tokens = self._read()
        tokens[server] = refresh_token
        self._write(tokens)

    def forget(self, server: str) -> None:
        """Drop what is kept for ``server``."""
        tokens = self._read()
        if tokens.pop(server, None) is not None:
            self._write(tokens)

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, tokens: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        # Created 0600 from the start: the token is never readable by others, not even briefly.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(tokens, file)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)


def default_path() -> Path:
    """``<user config dir>/porfin/sessions.json`` (platformdirs)."""
    from platformdirs import user_config_path

    return user_config_path("porfin") / "sessions.json"
