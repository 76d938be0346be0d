"""Porfin's configuration: one typed tree, loaded once from ``PORFIN_*`` variables and an
optional ``porfin.toml``.

Precedence: environment variables, then the file named by ``PORFIN_CONFIG`` (or
``./porfin.toml`` when it exists), then the defaults. docs/configuration.md lists every key.
"""

from __future__ import annotations

import enum
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from porfin_core.domain.model_costs import ModelPrice, parse_prices
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
        log_file: Append logs to this file instead of standard output/error (the terminal
            inbox's embedded server sets it, so logs never draw over the screen).
        access_log: Log one line per HTTP request (``http.request``).
        cors_origins: Origins allowed to call the API from a browser (none: no CORS).
        hsts_max_age: ``Strict-Transport-Security`` max-age in seconds (0: header off).
        metrics_enabled: Serve Prometheus metrics at ``/metrics``.
        metrics_token: Bearer token ``/metrics`` requires (unset: public).
        max_body_bytes: Largest request body the API accepts.
        jwt_secret: Key that signs access tokens; generated at first start when not set.
        access_token_minutes: Lifetime of an access token.
        redis_url: Redis shared by every API instance (rate limits, realtime fan-out); unset:
            state kept in the process (the embedded default, one instance).
        rate_limit_per_minute: Requests per minute each user may make to ``/api/v1``.
        rate_limit_burst: Requests a user may make at once above the steady rate.
        auth_rate_limit_per_minute: Requests per minute from one IP address to the public
            session routes (``/api/v1/auth/*``: login, refresh...).
        firebase_project_id: Firebase project whose ID tokens log staff in (unset: off).
        firebase_keys_url: Where Google publishes the keys that sign Firebase ID tokens.
        max_upload_bytes: Largest attachment staff may upload.
        whatsapp_graph_url: Base URL of Meta's Graph API (the Cloud API); a local fake in
            tests.
        google_client_id: OAuth client id (Google Cloud console, "Web application") used to
            connect professionals' Google Calendars (unset: calendars cannot be connected).
        google_client_secret: That OAuth client's secret.
        google_oauth_url: Google's OAuth consent page; a local fake in tests.
        google_token_url: Google's OAuth token endpoint; a local fake in tests.
        google_calendar_url: Base URL of the Google Calendar API v3; a local fake in tests.
        public_url: Porfin's address as browsers and calendar apps reach it, e.g.
            ``https://porfin.clinica.com.br`` (calendar consent callback, feed links);
            unset: ``http://<host>:<port>``.
        google_redirect_uri: Porfin's OAuth callback as Google redirects to it (exactly as
            registered in the OAuth client); unset:
            ``<public_url>/api/v1/calendar/oauth/callback``.
        google_calendar_free_busy: Ask Google's freeBusy for every slot search (fresher, one
            call per professional); off: the busy time the pulls stored answers.
        calendar_pull_minutes: Minutes between two pulls of each connected calendar.
        whatsapp_messages_per_second: Messages per second each Cloud API number may send
            (Meta's default throughput is 80, up to 1,000 after an upgrade).
        inbound_media_downloads: Patients' files downloaded from the providers at once,
            after their messages are committed; 0 turns the downloads off (files are then
            fetched when someone opens them).
        evolution_health_interval_seconds: Seconds between two health checks of every
            Evolution channel (connection state, degraded rule, reconnects); 0 turns the
            checks off.
        evolution_degraded_after_minutes: Minutes an open Evolution connection may bring
            nothing before it counts as degraded (and is restarted).
        job_worker_concurrency: Durable jobs each process runs at once (``porfin serve``'s
            workers, ``porfin worker``); 0 turns the process's job worker off.
        job_poll_seconds: Seconds between two looks of an idle job worker for due jobs.
        openai_api_key: OpenAI (or compatible server) API key; unset: the key ``porfin init``
            kept in ``<data_dir>/openai-api-key``, if any; else no OpenAI, the AI runs on the
            offline engine and voice notes go to a person (docs/openai.md).
        openai_base_url: The OpenAI-compatible API's root (Azure OpenAI v1, Ollama, vLLM...).
        openai_model: Chat model of assistants that name none.
        openai_fallback_model: Model tried when the chat model keeps failing (unset: none).
        openai_timeout_seconds: Seconds for connecting and for each read of an answer.
        openai_max_attempts: Attempts per model before the fallback (or a handoff).
        openai_transcription_model: Voice-note transcription model.
        openai_embedding_model: Embedding model of the knowledge base's hybrid retrieval
            (``text-embedding-3-small``); used only with an API key.
        openai_prices: BRL centavos per million prompt/completion tokens by model, over the
            built-in table (``gpt-4.1-mini=220/880,...``).
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
    log_file: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    access_log: bool = False
    cors_origins: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    hsts_max_age: int = 0
    metrics_enabled: bool = True
    metrics_token: str | None = attrs.field(default=None, repr=False)
    max_body_bytes: int = 1_048_576
    jwt_secret: str | None = attrs.field(default=None, repr=False)
    access_token_minutes: int = 15
    redis_url: str | None = attrs.field(default=None, repr=False)
    rate_limit_per_minute: int = 100
    rate_limit_burst: int = 50
    auth_rate_limit_per_minute: int = 10
    firebase_project_id: str | None = None
    firebase_keys_url: str = (
        "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    )
    max_upload_bytes: int = 16_777_216
    whatsapp_graph_url: str = "https://graph.facebook.com"
    google_client_id: str | None = None
    google_client_secret: str | None = attrs.field(default=None, repr=False)
    google_oauth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_calendar_url: str = "https://www.googleapis.com/calendar/v3"
    public_url: str | None = None
    google_redirect_uri: str | None = None
    google_calendar_free_busy: bool = False
    calendar_pull_minutes: int = 5
    whatsapp_messages_per_second: int = 80
    inbound_media_downloads: int = 4
    evolution_health_interval_seconds: int = 60
    evolution_degraded_after_minutes: int = 30
    job_worker_concurrency: int = 8
    job_poll_seconds: int = 1
    openai_api_key: str | None = attrs.field(default=None, repr=False)
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4.1-mini"
    openai_fallback_model: str | None = None
    openai_timeout_seconds: float = 20.0
    openai_max_attempts: int = 3
    openai_transcription_model: str = "gpt-4o-mini-transcribe"
    openai_embedding_model: str = "text-embedding-3-small"
    openai_prices: tuple[tuple[str, ModelPrice], ...] = ()

    @property
    def base_url(self) -> str:
        """Porfin's address for links given out (``public_url``, else host and port)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def calendar_redirect_uri(self) -> str:
        """Where Google sends the professional back after the consent (the OAuth callback)."""
        return self.google_redirect_uri or f"{self.base_url}/api/v1/calendar/oauth/callback"

    @property
    def database_path(self) -> Path:
        """The SQLite database file."""
        return self.data_dir / "porfin.db"

    @property
    def jwt_secret_path(self) -> Path:
        """Where the generated access-token signing key is kept (mode 0600)."""
        return self.data_dir / "jwt-secret"

    @property
    def media_dir(self) -> Path:
        """Where uploaded and received attachments are kept (the local media store)."""
        return self.data_dir / "media"

    @property
    def openai_key_path(self) -> Path:
        """Where ``porfin init`` keeps the OpenAI API key it was given (mode 0600); read when
        ``openai_api_key`` is not set otherwise."""
        return self.data_dir / "openai-api-key"

    @property
    def secrets_dir(self) -> Path:
        """Where channels' provider credentials are kept (the file secret store, mode 0700)."""
        return self.data_dir / "secrets"

    @property
    def token_path(self) -> Path:
        """Where the generated admin token is kept (mode 0600)."""
        return self.data_dir / "admin-token"


_FIELDS = {field.name: field for field in attrs.fields(Settings)}


_RANGES = {
    "port": (1, 65_535),
    "workers": (1, 32),
    "max_body_bytes": (1_024, 1_073_741_824),
    "hsts_max_age": (0, 63_072_000),
    "access_token_minutes": (1, 1_440),
    "rate_limit_per_minute": (1, 1_000_000),
    "rate_limit_burst": (0, 1_000_000),
    "auth_rate_limit_per_minute": (1, 1_000_000),
    "max_upload_bytes": (1_024, 1_073_741_824),
    "whatsapp_messages_per_second": (1, 1_000),
    "inbound_media_downloads": (0, 64),
    "evolution_health_interval_seconds": (0, 3_600),
    "evolution_degraded_after_minutes": (5, 10_080),
    "job_worker_concurrency": (0, 256),
    "job_poll_seconds": (1, 300),
    "calendar_pull_minutes": (1, 1_440),
    "openai_max_attempts": (1, 10),
    "openai_timeout_seconds": (0.1, 600),
}
_CHOICES = {"log_level": ("debug", "info", "warning", "error"), "log_format": ("console", "json")}
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
_BOOLEANS |= {"false": False, "0": False, "no": False, "off": False}
# "*", or scheme://host[:port] exactly as browsers send it in Origin (no path, no trailing
# slash); "*" may stand for any part of the host ("https://*.clinica.com.br").
_ORIGIN = re.compile(r"\*|https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9*.-]+)(:[0-9]{1,5})?")


def _coerce(name: str, raw: Any) -> Any:
    field = _FIELDS[name]
    try:
        if field.type in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            if not isinstance(raw, str) or raw.strip().lower() not in _BOOLEANS:
                raise ValueError(raw)
            return _BOOLEANS[raw.strip().lower()]
        if name == "cors_origins":
            return _origins(raw)
        if name == "openai_prices":
            return tuple(sorted(parse_prices(raw).items()))
        if field.type in ("float", float):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(raw)
            number = float(raw)
            low, high = _RANGES[name]
            if not low <= number <= high:  # NaN fails too
                raise ValueError(raw)
            return number
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
        if name in ("data_dir", "log_file"):
            return Path(os.path.expanduser(str(raw)))
        if not isinstance(raw, str):
            raise ValueError(raw)
        if name == "redis_url" and not raw.startswith(("redis://", "rediss://", "unix://")):
            # The URL may hold a password: name the setting, not the value.
            raise ValidationError(
                "invalid setting redis_url: use redis://, rediss:// or unix://", field=name
            )
        urls = (
            "firebase_keys_url",
            "whatsapp_graph_url",
            "google_oauth_url",
            "google_token_url",
            "google_calendar_url",
            "google_redirect_uri",
            "public_url",
            "openai_base_url",
        )
        if name in urls and not raw.startswith(("https://", "http://")):
            raise ValueError(raw)
        if name == "metrics_token" and len(raw.strip()) < 16:
            # A guessable token protects nothing; the message does not repeat the secret.
            raise ValidationError("invalid setting metrics_token: too short", field=name)
        return raw
    except ValueError as exc:
        raise ValidationError(f"invalid setting {name}: {raw!r}", field=name) from exc


def _origins(raw: Any) -> tuple[str, ...]:
    """A list, or a comma-separated string, of origins."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(raw)
    origins = tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not all(_ORIGIN.fullmatch(origin) for origin in origins):
        raise ValueError(raw)
    return origins


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
    settings = Settings(**values)
    if settings.openai_api_key is None:
        key = _read_kept_key(settings.openai_key_path)
        if key:
            settings = attrs.evolve(settings, openai_api_key=key)
    return settings


def _read_kept_key(path: Path) -> str | None:
    """The key kept in ``path`` by ``porfin init``, or None when there is no such file.

    Raises:
        ValidationError: the file exists but cannot be read.
    """
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc}", field="openai_api_key") from exc
