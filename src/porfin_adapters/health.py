"""Probes of an installation's configuration and of every service it talks to: what
``porfin doctor`` runs, and what ``porfin init`` asks before it keeps a credential.

Each probe answers a :class:`CheckResult`: a status, a stable ``problem`` code when something
is wrong and the facts found (in English, like every adapter's text). Shells turn the codes
into their own words and remedies. Probes never raise: a vendor's refusal, a dead server or
a probe slower than its timeout is a result too, so one dead service cannot hang or abort the
others (:func:`run_checks` runs them concurrently, each with its own timeout).
"""

from __future__ import annotations

import asyncio
import enum
import os
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from porfin_adapters.settings import Settings, StorageKind
from porfin_core.errors import CalendarAccessRevoked, GatewayError, PorfinError

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.calendar import CalendarConnection
    from porfin_core.domain.channel import Channel
    from porfin_core.domain.clinic import Clinic

DEFAULT_TIMEOUT = 5.0
"""Seconds each probe may take before it counts as failed."""
LOW_DISK_BYTES = 1024**3
"""Free space under which the data directory's disk is a warning (1 GiB)."""
CRITICAL_DISK_BYTES = 100 * 1024**2
"""Free space under which it is a failure (100 MiB): SQLite's WAL and media need room."""


class CheckStatus(enum.StrEnum):
    """How a check went."""

    OK = "ok"
    WARNING = "warning"
    """Works, but needs attention soon (does not make the installation unhealthy)."""
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not checked (turned off, or something it depends on failed)."""


@attrs.frozen(kw_only=True)
class CheckResult:
    """What one probe found.

    Attributes:
        check: The kind of check: ``config``, ``data_dir``, ``disk``, ``storage``, ``redis``,
            ``channel``, ``openai``, ``calendar``, ``payment_gateway``.
        target: What was checked (a path, a channel's name, a professional's name...).
        status: How it went.
        problem: A stable code of what is wrong (``invalid_token``, ``unreachable``...);
            None when nothing is.
        detail: The facts, in English (a provider's reason, a path, a version).
        facts: Structured facts (ids, states, sizes) for JSON output.
    """

    check: str
    target: str
    status: CheckStatus
    problem: str | None = None
    detail: str | None = None
    facts: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def failed(self) -> bool:
        """True when the check failed."""
        return self.status is CheckStatus.FAILED


def _ok(check: str, target: str, detail: str | None = None, **facts: Any) -> CheckResult:
    return CheckResult(
        check=check, target=target, status=CheckStatus.OK, detail=detail, facts=facts
    )


def _failed(check: str, target: str, problem: str, detail: str | None, **facts: Any) -> CheckResult:
    return _flagged(CheckStatus.FAILED, check, target, problem, detail, facts)


def _warning(
    check: str, target: str, problem: str, detail: str | None, **facts: Any
) -> CheckResult:
    return _flagged(CheckStatus.WARNING, check, target, problem, detail, facts)


def _flagged(
    status: CheckStatus,
    check: str,
    target: str,
    problem: str,
    detail: str | None,
    facts: dict[str, Any],
) -> CheckResult:
    return CheckResult(
        check=check, target=target, status=status, problem=problem, detail=detail, facts=facts
    )


async def guarded(
    check: str, target: str, probe: Awaitable[CheckResult], seconds: float, **facts: Any
) -> CheckResult:
    """``probe``'s result, or a failure (with ``facts``) when it takes longer than ``seconds``
    or breaks unexpectedly."""
    try:
        return await asyncio.wait_for(probe, seconds)
    except TimeoutError:
        return _failed(check, target, "timeout", f"no answer in {seconds:g} s", **facts)
    except Exception as exc:  # a broken probe is one failed check, never a crashed report
        return _failed(check, target, "error", f"{type(exc).__name__}: {exc}", **facts)


# -- local checks ---------------------------------------------------------------------------


def check_data_dir(settings: Settings) -> CheckResult:
    """The data directory exists and this user may write in it."""
    path = settings.data_dir
    if not path.is_dir():
        return _failed("data_dir", str(path), "missing", "the data directory does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        return _failed("data_dir", str(path), "not_writable", "no permission to write in it")
    return _ok("data_dir", str(path))


def check_disk(settings: Settings) -> CheckResult:
    """Free space on the data directory's disk."""
    path = settings.data_dir
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    facts = {"free_bytes": usage.free, "total_bytes": usage.total}
    detail = f"{usage.free / 1024**3:.1f} GiB free of {usage.total / 1024**3:.1f} GiB"
    if usage.free < CRITICAL_DISK_BYTES:
        return _failed("disk", str(settings.data_dir), "low_disk", detail, **facts)
    if usage.free < LOW_DISK_BYTES:
        return _warning("disk", str(settings.data_dir), "low_disk", detail, **facts)
    return _ok("disk", str(settings.data_dir), detail, **facts)


def latest_schema_version() -> int:
    """The schema version this Porfin's SQLite migrations lead to."""
    folder = resources.files("porfin_adapters.sqlite") / "migrations"
    numbers = [int(e.name.split("_", 1)[0]) for e in folder.iterdir() if e.name.endswith(".sql")]
    return max(numbers, default=0)


def check_sqlite(settings: Settings) -> CheckResult:
    """The SQLite file: present, readable and writable, a database, and migrated to this
    Porfin's schema. Opened read-only: a doctor changes nothing."""
    path = settings.database_path
    target = str(path)
    if not path.exists():
        return _failed("storage", target, "no_database", "the database file does not exist")
    if not os.access(path, os.R_OK | os.W_OK):
        return _failed("storage", target, "not_writable", "no permission to read and write it")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return _failed("storage", target, "unreadable", str(exc))
    latest = latest_schema_version()
    facts = {"kind": "sqlite", "schema_version": version, "latest_schema_version": latest}
    if version < latest:
        detail = f"schema version {version}, this Porfin needs {latest}"
        return _failed("storage", target, "schema_behind", detail, **facts)
    if version > latest:
        detail = f"schema version {version} is newer than this Porfin's ({latest})"
        return _failed("storage", target, "schema_ahead", detail, **facts)
    size = path.stat().st_size
    return _ok("storage", target, f"schema version {version}", size_bytes=size, **facts)


async def check_storage(settings: Settings, container: Container) -> CheckResult:
    """The storage backend the settings name."""
    if settings.storage is StorageKind.SQLITE:
        return await asyncio.to_thread(check_sqlite, settings)
    if settings.storage is StorageKind.MEMORY:
        return _warning(
            "storage", "memory", "memory_storage", "records live in the process and are lost"
        )
    target = f"firestore:{settings.firestore_project or '(default project)'}"
    if await container.storage().ready():
        return _ok("storage", target, kind="firestore")
    return _failed("storage", target, "unreachable", "Firestore did not answer a query")


def check_config(settings: Settings) -> CheckResult:
    """The settings loaded (the caller got them), and where from."""
    config = os.environ.get("PORFIN_CONFIG") or (
        "porfin.toml" if Path("porfin.toml").exists() else None
    )
    return _ok(
        "config",
        config or "environment",
        storage=settings.storage.value,
        data_dir=str(settings.data_dir),
        config_file=config,
    )


# -- services -------------------------------------------------------------------------------


async def check_redis(container: Container, settings: Settings) -> CheckResult:
    """Redis answers a PING (only when ``redis_url`` is set)."""
    from redis import exceptions as redis_errors

    client = container.redis()
    target = _redacted(settings.redis_url or "")
    if client is None:
        return CheckResult(
            check="redis", target="-", status=CheckStatus.SKIPPED, detail="redis_url not set"
        )
    started = time.perf_counter()
    try:
        await client.ping()
    except redis_errors.AuthenticationError as exc:
        return _failed("redis", target, "auth", str(exc))
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
        return _failed("redis", target, "unreachable", str(exc))
    except redis_errors.RedisError as exc:
        return _failed("redis", target, "refused", str(exc))
    millis = (time.perf_counter() - started) * 1000
    return _ok("redis", target, f"PONG in {millis:.0f} ms")


def _redacted(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


async def probe_cloud_api(
    graph_url: str,
    phone_number_id: str,
    token: str,
    *,
    api_version: str | None = None,
    target: str | None = None,
) -> CheckResult:
    """Ask the Graph API about the number with the token: proves both the token and the
    ``phone_number_id``."""
    import httpx

    from porfin_adapters.whatsapp_cloud.graph import DEFAULT_API_VERSION, classify

    name = target or phone_number_id
    url = f"{graph_url.rstrip('/')}/{api_version or DEFAULT_API_VERSION}/{phone_number_id}"
    try:
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            response = await http.get(
                url,
                params={"fields": "display_phone_number,verified_name,quality_rating"},
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError as exc:
        return _failed("channel", name, "unreachable", f"{type(exc).__name__}: {exc}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict):
        return _ok(
            "channel",
            name,
            str(body.get("display_phone_number") or phone_number_id),
            provider="cloud_api",
            display_phone_number=body.get("display_phone_number"),
            verified_name=body.get("verified_name"),
            quality_rating=body.get("quality_rating"),
        )
    error = classify(body, response.status_code, operation="health_check")
    code = str(error.fields.get("provider_code"))
    problem = {
        "190": "invalid_token",
        "0": "invalid_token",
        "100": "unknown_phone_number_id",
        "3": "permission",
        "10": "permission",
        "200": "permission",
    }.get(code, "unreachable" if error.retryable else "refused")
    return _failed(
        "channel", name, problem, error.message, provider="cloud_api", provider_code=code
    )


async def probe_evolution(
    base_url: str, api_key: str, instance: str, *, target: str | None = None
) -> CheckResult:
    """Ask the Evolution server for the instance's connection state: proves the server, the
    key and the instance, and says whether a phone is paired."""
    from porfin_adapters.evolution.client import EvolutionClient

    name = target or instance
    async with EvolutionClient(base_url, api_key, timeout=DEFAULT_TIMEOUT) as client:
        try:
            state = await client.connection_state(instance)
        except GatewayError as exc:
            status = exc.fields.get("status")
            problem = {401: "invalid_api_key", 403: "invalid_api_key", 404: "unknown_instance"}
            found = problem.get(status, "unreachable") if isinstance(status, int) else None
            return _failed(
                "channel", name, found or "unreachable", exc.message, provider="evolution"
            )
    facts = {"provider": "evolution", "state": state}
    if state == "open":
        return _ok("channel", name, "connected", **facts)
    if state == "connecting":
        return _warning("channel", name, "connecting", "the phone is pairing", **facts)
    return _failed("channel", name, "disconnected", f"state {state}", **facts)


async def probe_openai(base_url: str, api_key: str) -> CheckResult:
    """List the key's models: the cheapest call that proves the key (nothing is billed)."""
    import httpx

    target = base_url.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            response = await http.get(
                f"{target}/models", headers={"Authorization": f"Bearer {api_key}"}
            )
    except httpx.HTTPError as exc:
        return _failed("openai", target, "unreachable", f"{type(exc).__name__}: {exc}")
    if response.is_success:
        return _ok("openai", target)
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or f"HTTP {response.status_code}")
    code = error.get("code")
    if response.status_code == 401:
        problem = "invalid_key"
    elif code == "insufficient_quota":
        problem = "quota"
    elif response.status_code == 403:
        problem = "permission"
    elif response.status_code >= 500 or response.status_code == 429:
        problem = "unreachable"
    else:
        problem = "refused"
    return _failed("openai", target, problem, message, http_status=response.status_code)


async def check_channel(container: Container, settings: Settings, channel: Channel) -> CheckResult:
    """A channel's link to WhatsApp, asked to its provider."""
    from porfin_core.domain.channel import Provider

    target = channel.name
    facts = {"channel_id": channel.id, "provider": channel.provider.value}
    if not channel.active:
        return CheckResult(
            check="channel",
            target=target,
            status=CheckStatus.SKIPPED,
            detail="channel turned off",
            facts=facts,
        )
    if channel.provider is Provider.SIMULATOR:
        return _ok("channel", target, "simulator", **facts)
    try:
        if channel.provider is Provider.CLOUD_API:
            graph = container.graph_client()
            result = await probe_cloud_api(
                settings.whatsapp_graph_url,
                graph.phone_number_id(channel),
                await graph.token(channel),
                api_version=channel.settings.get("api_version"),
                target=target,
            )
        else:
            secrets = container.secret_store()
            result = await probe_evolution(
                channel.settings.get("base_url", ""),
                await secrets.get(channel.secrets["api_key"]),
                channel.external_ids.get("instance", ""),
                target=target,
            )
    except (PorfinError, KeyError) as exc:
        detail = exc.message if isinstance(exc, PorfinError) else f"missing setting {exc}"
        return _failed("channel", target, "not_configured", detail, **facts)
    return attrs.evolve(result, facts={**result.facts, **facts})


async def check_calendar(
    container: Container, connection: CalendarConnection, professional: str
) -> CheckResult:
    """A professional's Google Calendar: still authorized, its token refreshable, its last
    sync."""
    facts = {
        "connection_id": connection.id,
        "professional_id": connection.professional_id,
        "last_synced_at": (
            connection.last_synced_at.isoformat() if connection.last_synced_at else None
        ),
        "last_error": connection.last_error,
    }
    if not connection.is_active:
        return _failed("calendar", professional, "revoked", "access was withdrawn", **facts)
    oauth = container.calendar_authorization()
    if oauth is None:
        detail = "google_client_id and google_client_secret are not set"
        return _failed("calendar", professional, "not_configured", detail, **facts)
    try:
        await oauth.access_token(connection)
    except CalendarAccessRevoked as exc:
        return _failed("calendar", professional, "revoked", exc.message, **facts)
    except PorfinError as exc:
        return _failed("calendar", professional, "refresh_failed", exc.message, **facts)
    if connection.last_error:
        return _warning("calendar", professional, "sync_error", connection.last_error, **facts)
    return _ok("calendar", professional, **facts)


async def check_payment_gateway(container: Container, clinic: Clinic) -> CheckResult:
    """The clinic's payment gateway accepts its credentials."""
    config = clinic.payment_gateway
    assert config is not None  # the caller checks only clinics that have one
    target = config.provider.value
    missing = config.missing()
    if missing:
        detail = f"missing {', '.join(missing)}"
        return _failed("payment_gateway", target, "missing_settings", detail)
    try:
        gateway: Any = await container.payment_gateways().gateway(clinic.id, config)
        await gateway.verify_credentials()
    except GatewayError as exc:
        status = exc.fields.get("http_status")
        if status in (401, 403):
            problem = "invalid_credentials"
        else:
            problem = "unreachable" if exc.retryable else "refused"
        return _failed("payment_gateway", target, problem, exc.message)
    except PorfinError as exc:
        return _failed("payment_gateway", target, "refused", exc.message)
    return _ok("payment_gateway", target)


async def check_openai(settings: Settings) -> CheckResult:
    """The configured OpenAI key works (only when one is set)."""
    if not settings.openai_api_key:
        return CheckResult(
            check="openai",
            target="-",
            status=CheckStatus.SKIPPED,
            detail="openai_api_key not set: the offline engine answers",
        )
    return await probe_openai(settings.openai_base_url, settings.openai_api_key)


# -- the whole report -----------------------------------------------------------------------


Probe = tuple[str, str, Callable[[], Awaitable[CheckResult]], dict[str, Any]]
"""A check still to run: kind, target, the probe to start, the facts of a timeout result."""


async def _installation_checks(container: Container, settings: Settings) -> list[Probe]:
    """The probes of what the records hold: channels, calendars, payment gateways (each with
    the facts a timeout result should carry)."""
    probes: list[Probe] = []
    async with container.uow_factory()(read_only=True) as uow:
        clinics = await uow.clinics.list()
    for clinic in clinics:
        for channel in await container.list_channels()(clinic.id, include_archived=False):
            facts = {"channel_id": channel.id, "provider": channel.provider.value}
            probe = partial(check_channel, container, settings, channel)
            probes.append(("channel", channel.name, probe, facts))
        names = {
            p.id: p.name
            for p in await container.list_professionals()(clinic.id, include_inactive=True)
        }
        for connection in await container.list_calendar_connections()(clinic.id):
            name = names.get(connection.professional_id, connection.professional_id)
            probe = partial(check_calendar, container, connection, name)
            probes.append(("calendar", name, probe, {"connection_id": connection.id}))
        if clinic.payment_gateway is not None:
            target = clinic.payment_gateway.provider.value
            probe = partial(check_payment_gateway, container, clinic)
            probes.append(("payment_gateway", target, probe, {}))
    return probes


async def run_checks(settings: Settings, *, seconds: float = DEFAULT_TIMEOUT) -> list[CheckResult]:
    """Check the configuration and every configured adapter, concurrently, each probe within
    ``seconds``; the results in a stable order (local checks, storage, Redis,
    OpenAI, channels, calendars, payment gateways).

    The installation is only read: no migration runs (an outdated database is reported), no
    installation is created, no event is dispatched.
    """
    import porfin_adapters.container as composition

    container = composition.create_container(
        attrs.evolve(settings, evolution_health_interval_seconds=0, job_worker_concurrency=0)
    )
    where = str(settings.data_dir)
    local = [
        guarded("data_dir", where, asyncio.to_thread(check_data_dir, settings), seconds),
        guarded("disk", where, asyncio.to_thread(check_disk, settings), seconds),
    ]
    services = [
        guarded("redis", "redis", check_redis(container, settings), seconds),
        guarded("openai", "openai", check_openai(settings), seconds),
    ]

    async def storage_then_records() -> list[CheckResult]:
        storage = await guarded(
            "storage", settings.storage.value, check_storage(settings, container), seconds
        )
        if storage.status in (CheckStatus.OK, CheckStatus.WARNING):
            return [storage, *await _records_checks(container, settings, seconds)]
        skipped = CheckResult(
            check="records",
            target="-",
            status=CheckStatus.SKIPPED,
            problem="storage_unavailable",
            detail="channels, calendars and payment gateways were not checked",
        )
        return [storage, skipped]

    try:
        found, records = await asyncio.gather(
            asyncio.gather(*local, *services), storage_then_records()
        )
    finally:
        await _close(container)
    data_dir, disk, redis, openai = found
    storage, *rest = records
    return [check_config(settings), data_dir, disk, storage, redis, openai, *rest]


async def _records_checks(
    container: Container, settings: Settings, seconds: float
) -> list[CheckResult]:
    storage = container.storage()
    try:
        await asyncio.wait_for(storage.open(), seconds)
        probes = await asyncio.wait_for(_installation_checks(container, settings), seconds)
    except (TimeoutError, PorfinError, OSError, sqlite3.Error) as exc:
        detail = "no answer in time" if isinstance(exc, TimeoutError) else str(exc)
        return [_failed("records", "-", "storage_unavailable", detail)]
    return list(
        await asyncio.gather(
            *(guarded(c, t, probe(), seconds, **facts) for c, t, probe, facts in probes)
        )
    )


async def _close(container: Container) -> None:
    """Close what the probes opened (never the storage of a run that did not open it)."""
    from contextlib import suppress

    with suppress(Exception):
        await container.storage().close()
    await container.graph_client().aclose()
    await container.payment_gateways().aclose()
    google = container.google_calendar()
    for client in reversed(google or ()):
        await client.aclose()
    redis = container.redis()
    if redis is not None:
        with suppress(Exception):
            await redis.aclose()
