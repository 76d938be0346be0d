"""Porfin's configuration: one typed tree, loaded once from ``PORFIN_*`` variables and an
optional ``porfin.toml``.

Precedence: environment variables, then the file named by ``PORFIN_CONFIG`` (or
``./porfin.toml`` when it exists), then the defaults. docs/configuration.md lists every key.
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from porfin_core.errors import ValidationError


class StorageKind(enum.StrEnum):
    """Where Porfin keeps its records."""

    SQLITE = "sqlite"
    FIRESTORE = "firestore"
    MEMORY = "memory"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/porfin``, i.e. ``~/.local/share/porfin`` by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "porfin"


@attrs.frozen(kw_only=True)
class Settings:
    """Everything configurable, with working defaults for the embedded installation.

    Attributes:
        storage: ``sqlite`` (default, a file in ``data_dir``), ``firestore`` or ``memory``.
        data_dir: Directory of the SQLite database and the admin token.
        host: Address ``porfin serve`` listens on.
        port: Port ``porfin serve`` listens on.
        workers: HTTP worker processes.
        admin_token: Bearer token of the API; generated at first start when not set.
        firestore_project: Google Cloud project of the Firestore database.
        firestore_database: Firestore database id.
        firestore_root: Optional prefix of every top-level collection (isolates installations).
        log_level: ``debug``, ``info``, ``warning`` or ``error``.
        log_format: ``console`` (human) or ``json`` (one object per line).
        max_body_bytes: Largest request body the API accepts.
    """

    storage: StorageKind = StorageKind.SQLITE
    data_dir: Path = attrs.field(factory=default_data_dir, converter=Path)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    admin_token: str | None = None
    firestore_project: str | None = None
    firestore_database: str = "(default)"
    firestore_root: str = ""
    log_level: str = "info"
    log_format: str = "console"
    max_body_bytes: int = 1_048_576

    @property
    def database_path(self) -> Path:
        """The SQLite database file."""
        return self.data_dir / "porfin.db"

    @property
    def token_path(self) -> Path:
        """Where the generated admin token is kept (mode 0600)."""
        return self.data_dir / "admin-token"


_FIELDS = {field.name: field for field in attrs.fields(Settings)}


_RANGES = {"port": (1, 65_535), "workers": (1, 32), "max_body_bytes": (1_024, 1_073_741_824)}
_CHOICES = {"log_level": ("debug", "info", "warning", "error"), "log_format": ("console", "json")}


def _coerce(name: str, raw: Any) -> Any:
    field = _FIELDS[name]
    try:
        if field.type in ("int", int):
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError(raw)  # 4.5 is not a port number, nor True
            value = int(raw)
            low, high = _RANGES[name]
            if not low <= value <= high:
                raise ValueError(raw)
            return value
        if name == "storage":
            return StorageKind(str(raw).lower())
        if name in _CHOICES:
            if str(raw).lower() not in _CHOICES[name]:
                raise ValueError(raw)
            return str(raw).lower()
        if name == "data_dir":
            return Path(os.path.expanduser(str(raw)))
        if not isinstance(raw, str):
            raise ValueError(raw)
        return raw
    except ValueError as exc:
        raise ValidationError(f"invalid setting {name}: {raw!r}", field=name) from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from a config file, the environment and explicit overrides.

    Raises:
        ValidationError: an unknown key in the file, or a value of the wrong type or out of
            range.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = env.get("PORFIN_CONFIG")
    path = Path(config_path) if config_path else Path("porfin.toml")
    if config_path or path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValidationError(f"cannot read config file {path}: {exc}", field="config") from exc
        section = document.get("porfin", document)
        if section is not document and len(document) > 1:
            others = sorted(k for k in document if k != "porfin")
            raise ValidationError(f"unknown table(s) {others} in {path}", field=others[0])
        if not isinstance(section, dict):
            raise ValidationError(f"[porfin] in {path} must be a table", field="porfin")
        for key, raw in section.items():
            if key not in _FIELDS:
                raise ValidationError(f"unknown setting {key!r} in {path}", field=key)
            values[key] = _coerce(key, raw)
    for name in _FIELDS:
        raw = env.get(f"PORFIN_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw)
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _coerce(name, raw)
    return Settings(**values)
