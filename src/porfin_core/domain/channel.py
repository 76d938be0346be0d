"""Channels: the clinic's WhatsApp numbers and how Porfin reaches them."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.events import ChannelDegraded, ChannelRecovered, EventRecorder
from porfin_core.errors import InvalidStateTransition, ValidationError

MAX_NAME_LENGTH = 100
"""Longest channel name staff may give."""
MAX_SECRET_LENGTH = 4096
"""Longest secret value accepted (Cloud API access tokens are a few hundred characters)."""
HINT_MIN_LENGTH = 16
"""Secrets shorter than this get no hint: four characters would give too much away."""


class Provider(enum.StrEnum):
    """How Porfin talks to a WhatsApp number."""

    CLOUD_API = "cloud_api"
    EVOLUTION = "evolution"
    SIMULATOR = "simulator"


@attrs.frozen
class SecretRef:
    """A reference to a secret kept outside Porfin's records (env var, file, secret manager).

    Only the reference is stored or logged, never the secret itself.

    Attributes:
        ref: Where the secret lives, as the secret store names it (``store:<key>``).
        hint: The secret's last four characters, so staff can recognize which credential is
            configured; None for secrets shorter than :data:`HINT_MIN_LENGTH`.
    """

    ref: str
    hint: str | None = None

    def __str__(self) -> str:
        return self.ref


def secret_hint(value: str) -> str | None:
    """The last four characters of ``value``, or None when it is too short to show any."""
    return value[-4:] if len(value) >= HINT_MIN_LENGTH else None


class SettingPlace(enum.StrEnum):
    """Where a provider setting is kept on the :class:`Channel`."""

    EXTERNAL_ID = "external_ids"
    """A provider's id for the number (``phone_number_id``, Evolution ``instance``)."""
    SETTING = "settings"
    """A plain, non-secret setting (API base URL, API version)."""
    SECRET = "secrets"
    """A credential: kept in the secret store, the channel holds only its :class:`SecretRef`."""


@attrs.frozen(kw_only=True)
class ProviderSetting:
    """One setting a channel of a provider holds.

    Attributes:
        name: The setting's name (the API field).
        place: Where it is kept: an external id, a plain setting or a secret.
        required: A channel of the provider cannot work without it.
        pattern: Regular expression the whole value must match (None: any text).
        max_length: Longest value accepted.
        description: What it is, in one line (shown in the API documentation).
    """

    name: str
    place: SettingPlace
    required: bool
    pattern: str | None = None
    max_length: int = 200
    description: str = ""

    def clean(self, value: str) -> str:
        """``value`` trimmed (and without a URL's trailing slash) if it is acceptable.

        Raises:
            ValidationError: empty, too long, control characters or not matching ``pattern``.
        """
        text = value.strip()
        if self.place is SettingPlace.SETTING and self.name.endswith("url"):
            text = text.rstrip("/")
        if not text:
            raise ValidationError(f"{self.name} is empty", field=self.name)
        if len(text) > self.max_length:
            raise ValidationError(
                f"{self.name} is longer than {self.max_length} characters", field=self.name
            )
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise ValidationError(f"{self.name} holds control characters", field=self.name)
        if self.pattern is not None and re.fullmatch(self.pattern, text) is None:
            raise ValidationError(f"{self.name} is not valid", field=self.name)
        return text


_DIGITS = r"[0-9]{1,32}"
# http(s), a host, an optional port and path; no user info (a password in a URL would be
# stored as a plain setting), no query or fragment.
_BASE_URL = r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?"
_INSTANCE = r"[A-Za-z0-9_.-]{1,100}"
_TEMPLATE_NAME = r"[a-z0-9_]{1,512}"
_LANGUAGE = r"[a-z]{2,3}(_[A-Z]{2})?"
_MESSAGES_PER_SECOND = r"[1-9][0-9]{0,2}|1000"
_API_VERSION = r"v[0-9]{1,3}\.[0-9]{1,3}"

PROVIDER_SETTINGS: Mapping[Provider, tuple[ProviderSetting, ...]] = {
    Provider.CLOUD_API: (
        ProviderSetting(
            name="phone_number_id",
            place=SettingPlace.EXTERNAL_ID,
            required=True,
            pattern=_DIGITS,
            description="The number's id in the WhatsApp Cloud API (webhooks route on it).",
        ),
        ProviderSetting(
            name="waba_id",
            place=SettingPlace.EXTERNAL_ID,
            required=True,
            pattern=_DIGITS,
            description="The WhatsApp Business Account id (templates live there).",
        ),
        ProviderSetting(
            name="api_version",
            place=SettingPlace.SETTING,
            required=False,
            pattern=_API_VERSION,
            description="Graph API version, e.g. v23.0 (default: Porfin's).",
        ),
        ProviderSetting(
            name="reminder_template",
            place=SettingPlace.SETTING,
            required=False,
            pattern=_TEMPLATE_NAME,
            max_length=512,
            description="Approved template for appointment reminders outside the 24-hour "
            "window: body {{1}} patient's first name, {{2}} date and time, {{3}} what and with "
            "whom; three quick-reply buttons Confirmar, Remarcar, Cancelar.",
        ),
        ProviderSetting(
            name="template_language",
            place=SettingPlace.SETTING,
            required=False,
            pattern=_LANGUAGE,
            description="Language code of the channel's templates (default: pt_BR).",
        ),
        ProviderSetting(
            name="messages_per_second",
            place=SettingPlace.SETTING,
            required=False,
            pattern=_MESSAGES_PER_SECOND,
            description="The number's sending rate, 1-1000 messages per second (default: "
            "the installation's, 80; Meta raises a number to 1,000 on request).",
        ),
        ProviderSetting(
            name="access_token",
            place=SettingPlace.SECRET,
            required=True,
            max_length=MAX_SECRET_LENGTH,
            description="System-user access token that sends messages.",
        ),
        ProviderSetting(
            name="app_secret",
            place=SettingPlace.SECRET,
            required=True,
            max_length=MAX_SECRET_LENGTH,
            description="The Meta app's secret: checks webhook signatures.",
        ),
        ProviderSetting(
            name="webhook_verify_token",
            place=SettingPlace.SECRET,
            required=False,
            max_length=MAX_SECRET_LENGTH,
            description="The token Meta echoes when the webhook is registered.",
        ),
    ),
    Provider.EVOLUTION: (
        ProviderSetting(
            name="base_url",
            place=SettingPlace.SETTING,
            required=True,
            pattern=_BASE_URL,
            max_length=500,
            description="The Evolution API server, e.g. https://evolution.example.com.",
        ),
        ProviderSetting(
            name="instance",
            place=SettingPlace.EXTERNAL_ID,
            required=True,
            pattern=_INSTANCE,
            description="The instance name (letters, digits, `_`, `.`, `-`).",
        ),
        ProviderSetting(
            name="api_key",
            place=SettingPlace.SECRET,
            required=True,
            max_length=MAX_SECRET_LENGTH,
            description="The instance token or global API key (`apikey` header).",
        ),
        ProviderSetting(
            name="webhook_secret",
            place=SettingPlace.SECRET,
            required=False,
            max_length=MAX_SECRET_LENGTH,
            description="Secret Evolution sends with its webhooks "
            "(`Authorization: Bearer <secret>`, see docs/whatsapp-evolution.md).",
        ),
        ProviderSetting(
            name="groups",
            place=SettingPlace.SETTING,
            required=False,
            pattern="true|false",
            max_length=5,
            description="`true` to receive group (`@g.us`) messages; ignored by default.",
        ),
    ),
    Provider.SIMULATOR: (),
}
"""What a channel of each provider holds (docs/api.md lists them)."""


def provider_setting(provider: Provider, name: str) -> ProviderSetting:
    """The setting ``name`` of ``provider``.

    Raises:
        ValidationError: the provider has no such setting.
    """
    for setting in PROVIDER_SETTINGS[provider]:
        if setting.name == name:
            return setting
    known = ", ".join(s.name for s in PROVIDER_SETTINGS[provider]) or "none"
    raise ValidationError(
        f"{provider.value} channels have no setting {name!r} (settings: {known})", field=name
    )


DEFAULT_TEMPLATE_LANGUAGE = "pt_BR"
"""Language of a template when the admin does not name one."""
MAX_TEMPLATES = 100
"""Templates a channel may list."""
MAX_TEMPLATE_BODY = 1024
"""WhatsApp's limit for a template's body text."""
MAX_TEMPLATE_PARAMETER = 1024
"""Longest value staff may put in one placeholder."""
TEMPLATE_PROVIDERS = frozenset({"cloud_api", "simulator"})
"""Providers whose numbers send templates (Evolution's Baileys numbers have none)."""

_PLACEHOLDER = re.compile(r"\{\{\s*([0-9]+)\s*\}\}")


@attrs.frozen(kw_only=True)
class MessageTemplate:
    """A WhatsApp message template approved for the channel's account, as the admin
    registered it: what staff may send outside the 24-hour window.

    Attributes:
        name: The template's name in WhatsApp Manager (lowercase letters, digits, ``_``).
        language: Its language code (``pt_BR``, ``en_US``...).
        body: The body text with its placeholders ``{{1}}``, ``{{2}}``... (numbered from 1,
            none skipped), as approved.
    """

    name: str
    language: str = DEFAULT_TEMPLATE_LANGUAGE
    body: str

    @classmethod
    def of(cls, name: str, body: str, language: str | None = None) -> MessageTemplate:
        """A template checked as WhatsApp would take it.

        Raises:
            ValidationError: a name or language WhatsApp does not accept, an empty or too
                long body, placeholders not numbered 1, 2, 3... (``field`` says which).
        """
        name, language = name.strip(), (language or DEFAULT_TEMPLATE_LANGUAGE).strip()
        if re.fullmatch(_TEMPLATE_NAME, name) is None:
            raise ValidationError(
                "a template name is lowercase letters, digits and _", field="templates.name"
            )
        if re.fullmatch(_LANGUAGE, language) is None:
            raise ValidationError(
                f"{language!r} is not a language code such as pt_BR", field="templates.language"
            )
        body = body.strip()
        if not body:
            raise ValidationError("a template needs its body text", field="templates.body")
        if len(body) > MAX_TEMPLATE_BODY:
            raise ValidationError(
                f"a template's body is at most {MAX_TEMPLATE_BODY} characters",
                field="templates.body",
            )
        numbers = sorted({int(n) for n in _PLACEHOLDER.findall(body)})
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValidationError(
                "a template's placeholders are numbered {{1}}, {{2}}... without gaps",
                field="templates.body",
            )
        return cls(name=name, language=language, body=body)

    @property
    def parameter_count(self) -> int:
        """How many values the placeholders take."""
        return len({int(n) for n in _PLACEHOLDER.findall(self.body)})

    def render(self, parameters: Sequence[str]) -> str:
        """The body with ``parameters`` in its placeholders (``{{1}}`` the first): the text
        the patient reads.

        Raises:
            ValidationError: not one value per placeholder; an empty value, one too long, or
                with a line break, a tab or more than four spaces in a row (WhatsApp refuses
                them) (``field`` ``template.parameters``).
        """
        if len(parameters) != self.parameter_count:
            raise ValidationError(
                f"the template {self.name} ({self.language}) takes {self.parameter_count} "
                f"parameters, not {len(parameters)}",
                field="template.parameters",
                expected=self.parameter_count,
            )
        for value in parameters:
            if not value.strip():
                raise ValidationError("a template parameter is empty", field="template.parameters")
            if len(value) > MAX_TEMPLATE_PARAMETER:
                raise ValidationError(
                    f"a template parameter is at most {MAX_TEMPLATE_PARAMETER} characters",
                    field="template.parameters",
                )
            if any(ch in value for ch in "\n\r\t") or "     " in value:
                raise ValidationError(
                    "a template parameter cannot hold line breaks, tabs or more than four "
                    "spaces in a row",
                    field="template.parameters",
                )
        return _PLACEHOLDER.sub(lambda m: parameters[int(m.group(1)) - 1], self.body)


def message_templates(templates: Iterable[MessageTemplate]) -> list[MessageTemplate]:
    """``templates`` as a channel lists them: one per name and language, at most
    :data:`MAX_TEMPLATES`.

    Raises:
        ValidationError: too many, or a name and language listed twice.
    """
    listed = list(templates)
    if len(listed) > MAX_TEMPLATES:
        raise ValidationError(
            f"a channel lists at most {MAX_TEMPLATES} templates", field="templates"
        )
    seen: set[tuple[str, str]] = set()
    for template in listed:
        key = (template.name, template.language)
        if key in seen:
            raise ValidationError(
                f"the template {template.name} ({template.language}) is listed twice",
                field="templates",
            )
        seen.add(key)
    return listed


def channel_name(name: str) -> str:
    """``name`` trimmed, if it is a valid channel name.

    Raises:
        ValidationError: empty, longer than :data:`MAX_NAME_LENGTH` or with control characters.
    """
    text = " ".join(name.split())
    if not text:
        raise ValidationError("channel name is empty", field="name")
    if len(text) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"channel name is longer than {MAX_NAME_LENGTH} characters", field="name"
        )
    return text


@attrs.frozen(kw_only=True)
class ChannelConnection:
    """How a channel's link to WhatsApp stands, as its provider last reported it, and what
    Porfin's health checks found (Evolution channels; see :class:`HealthRule`).

    Attributes:
        state: The provider's word: ``open``, ``connecting``, ``close`` or ``refused``
            (Evolution's connection states).
        since: When the channel entered ``state``.
        updated_at: When the provider last reported on the connection (QR codes included).
        reason: Why, when the provider said (Evolution's ``statusReason``: 401 is logged out).
        qr_code: The latest QR code's content while the number waits to be paired, for
            ``porfin whatsapp connect``; None once the number is connected.
        pairing_code: The latest pairing code, if the provider made one.
        last_open_at: The last time the connection was seen ``open`` (None: never, as far as
            Porfin knows). Only numbers once connected are reconnected automatically.
        last_activity_at: The last time the bridge sent anything for the channel (any webhook:
            message, receipt, echo, presence, connection update). Recorded by the health
            checks, so it lags by up to one check interval.
        checked_at: When a health check last asked the provider for the state.
        check_error: Why the last health check got no answer (None: it got one).
        degraded: The connection looks ``open`` but nothing came through it for too long
            (:meth:`HealthRule.is_degraded`), as of the last health check.
        degraded_since: When the health checks found it degraded.
        reconnect_attempts: Automatic reconnect attempts since the channel was last healthy.
        last_reconnect_at: When the last automatic attempt was made.
        next_reconnect_at: The earliest time for the next attempt (exponential backoff).
    """

    state: str
    since: datetime
    updated_at: datetime
    reason: str | None = None
    qr_code: str | None = None
    pairing_code: str | None = None
    last_open_at: datetime | None = None
    last_activity_at: datetime | None = None
    checked_at: datetime | None = None
    check_error: str | None = None
    degraded: bool = False
    degraded_since: datetime | None = None
    reconnect_attempts: int = 0
    last_reconnect_at: datetime | None = None
    next_reconnect_at: datetime | None = None


LOGGED_OUT_REASONS = frozenset({"401", "402", "403", "406"})
"""Close reasons after which the bridge cannot reconnect by itself (Baileys' ``loggedOut``
401, ``forbidden`` 403, and 402/406, Evolution's ``codesToNotReconnect``): the phone must pair
the number again, so Porfin does not try either."""


class ReconnectReason(enum.StrEnum):
    """Why a channel needs reconnecting."""

    CLOSED = "closed"
    """The connection is ``close`` (and not logged out)."""
    DEGRADED = "degraded"
    """Open, but nothing came through it for too long."""
    STUCK = "stuck"
    """``connecting`` for longer than the silence threshold, with no QR code to scan."""


@attrs.frozen(kw_only=True)
class HealthRule:
    """When a channel's connection counts as degraded, and how reconnect attempts are spaced.

    **The degraded rule.** A channel is degraded when both hold:

    1. its connection is ``open`` as the provider last reported it (Evolution answers
       ``connectionState`` with ``open``: the bridge believes it is connected to WhatsApp and
       the phone's session is valid);
    2. nothing came from the bridge for the channel (no webhook of any kind) for longer than
       :attr:`silence`, counted from the later of the last activity and the moment the
       connection became ``open``.

    A Baileys session can stay "open" while WhatsApp delivers it nothing (a half-dead
    websocket); only the silence shows it. A quiet clinic at night looks the same, so the
    threshold is long, and what follows (a restart of the session) is harmless.

    **Reconnecting.** A channel needs reconnecting when it is degraded, ``close`` (unless the
    reason says the phone logged out, :data:`LOGGED_OUT_REASONS`), or stuck ``connecting``
    without a QR code for longer than :attr:`silence`; and only if it was seen ``open`` once
    (a number never paired needs a person with the phone, not a restart). Attempts are spaced
    by :meth:`retry_delay`: 1 minute, 2, 4... up to :attr:`max_retry`; the count starts again
    once the channel is healthy.

    Attributes:
        silence: How long an open connection may bring nothing before it counts as degraded.
        first_retry: The wait after the first reconnect attempt; it doubles with each one.
        max_retry: The longest wait between two attempts.
    """

    silence: timedelta = timedelta(minutes=30)
    first_retry: timedelta = timedelta(minutes=1)
    max_retry: timedelta = timedelta(minutes=30)

    def quiet_since(self, connection: ChannelConnection) -> datetime:
        """Since when nothing came through the connection: the last activity, or the moment
        it entered its state when that is later."""
        activity = connection.last_activity_at
        return connection.since if activity is None or activity < connection.since else activity

    def is_degraded(self, connection: ChannelConnection, now: datetime) -> bool:
        """Whether ``connection`` is degraded at ``now`` (the rule above)."""
        return connection.state == "open" and now - self.quiet_since(connection) > self.silence

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th attempt (1: :attr:`first_retry`, then doubling,
        at most :attr:`max_retry`)."""
        if attempts <= 1:
            return min(self.first_retry, self.max_retry)
        # Past 2**20 the cap wins anyway; the exponent stays small.
        return min(self.first_retry * (1 << min(attempts - 1, 20)), self.max_retry)

    def reconnect_reason(
        self, connection: ChannelConnection, now: datetime
    ) -> ReconnectReason | None:
        """Why the channel needs reconnecting now, or None when it does not (healthy, waiting
        for a person to pair it, or never connected)."""
        if connection.last_open_at is None:
            return None
        if connection.state == "open":
            return ReconnectReason.DEGRADED if self.is_degraded(connection, now) else None
        if connection.state == "close":
            return None if connection.reason in LOGGED_OUT_REASONS else ReconnectReason.CLOSED
        stuck = now - connection.since > self.silence
        if connection.state == "connecting" and connection.qr_code is None and stuck:
            return ReconnectReason.STUCK
        return None

    def reconnect_due(self, connection: ChannelConnection, now: datetime) -> bool:
        """Whether an attempt should be made now: one is needed, and the backoff has passed."""
        if self.reconnect_reason(connection, now) is None:
            return False
        return connection.next_reconnect_at is None or now >= connection.next_reconnect_at


@attrs.define(kw_only=True)
class Channel(EventRecorder):
    """A WhatsApp number of the clinic.

    Health checks record :class:`~porfin_core.domain.events.ChannelDegraded` and
    :class:`~porfin_core.domain.events.ChannelRecovered` when the degraded flag changes.

    Attributes:
        id: Stable identifier, part of the channel's webhook URL.
        clinic_id: The clinic.
        name: Label shown to staff ("Recepção").
        provider: Cloud API, Evolution (Baileys bridge) or the built-in simulator.
        phone: The number's canonical E.164 form, when known.
        external_ids: Provider ids (e.g. ``phone_number_id``, ``waba_id``, ``instance``).
        settings: Provider settings that are not secret (API base URL, version...).
        secrets: Named references to secrets (tokens, app secret, webhook secret).
        active: Inactive channels refuse inbound webhooks and sends.
        created_at: When the channel was added.
        archived_at: When the channel was removed. An archived channel stays (its chats and
            messages keep pointing at it) but is inactive for good and holds no secrets.
        connection: The provider's last report on the link to WhatsApp (Evolution), None
            until one arrives.
        templates: The approved WhatsApp templates staff may send (outside the 24-hour
            window too), as the admin registered them (Cloud API and simulator numbers).
    """

    id: str
    clinic_id: str
    name: str
    provider: Provider
    phone: str | None = None
    external_ids: dict[str, str] = attrs.field(factory=dict)
    settings: dict[str, str] = attrs.field(factory=dict)
    secrets: dict[str, SecretRef] = attrs.field(factory=dict)
    active: bool = True
    created_at: datetime
    archived_at: datetime | None = None
    connection: ChannelConnection | None = None
    templates: list[MessageTemplate] = attrs.field(factory=list)

    @property
    def archived(self) -> bool:
        """True once the channel was removed."""
        return self.archived_at is not None

    def check_changeable(self) -> None:
        """Refuse any change once the channel was removed: it never changes again.

        Raises:
            InvalidStateTransition: the channel was removed.
        """
        if self.archived_at is not None:
            raise InvalidStateTransition("the channel was removed", channel_id=self.id)

    def rename(self, name: str) -> None:
        """Give the channel a new label.

        Raises:
            ValidationError: not a valid name (see :func:`channel_name`).
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        self.name = channel_name(name)

    def change_phone(self, phone: str) -> None:
        """Record the number's canonical E.164 form (see ``normalize_phone``).

        Raises:
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        self.phone = phone

    def set_active(self, active: bool) -> None:
        """Switch the channel on (it receives and sends) or off.

        Raises:
            InvalidStateTransition: the channel was removed (it never comes back).
        """
        self.check_changeable()
        self.active = active

    def configure(self, setting: ProviderSetting, value: str | None) -> None:
        """Set (or, with None, remove) a non-secret setting or external id.

        Raises:
            ValidationError: a required setting cannot be removed; a secret goes through
                :meth:`set_secret`.
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        if setting.place is SettingPlace.SECRET:
            raise ValidationError(f"{setting.name} is a secret", field=setting.name)
        target = self.external_ids if setting.place is SettingPlace.EXTERNAL_ID else self.settings
        if value is not None:
            target[setting.name] = setting.clean(value)
        elif setting.required:
            raise ValidationError(f"{setting.name} is required", field=setting.name)
        else:
            target.pop(setting.name, None)

    def set_templates(self, templates: Iterable[MessageTemplate]) -> None:
        """Replace the channel's list of approved templates (empty: none).

        Raises:
            ValidationError: see :func:`message_templates`; templates on a number whose
                provider has none (Evolution).
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        listed = message_templates(templates)
        if listed and self.provider.value not in TEMPLATE_PROVIDERS:
            raise ValidationError(
                f"{self.provider.value} numbers send no WhatsApp templates", field="templates"
            )
        self.templates = listed

    def template(self, name: str, language: str | None = None) -> MessageTemplate:
        """The registered template ``name`` in ``language`` (default pt_BR).

        Raises:
            ValidationError: the channel has no such template (``field`` ``template.name``).
        """
        language = language or DEFAULT_TEMPLATE_LANGUAGE
        for template in self.templates:
            if (template.name, template.language) == (name, language):
                return template
        known = ", ".join(f"{t.name} ({t.language})" for t in self.templates) or "none"
        raise ValidationError(
            f"the channel has no template {name} ({language}); templates: {known}",
            field="template.name",
        )

    def set_secret(self, setting: ProviderSetting, ref: SecretRef | None) -> SecretRef | None:
        """Point a secret setting at ``ref`` (None removes it); returns the reference it replaces.

        Raises:
            ValidationError: not a secret setting, or removing a required one.
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        if setting.place is not SettingPlace.SECRET:
            raise ValidationError(f"{setting.name} is not a secret", field=setting.name)
        if ref is None and setting.required:
            raise ValidationError(f"{setting.name} is required", field=setting.name)
        previous = self.secrets.pop(setting.name, None)
        if ref is not None:
            self.secrets[setting.name] = ref
        return previous

    def record_connection(self, state: str, reason: str | None, at: datetime) -> bool:
        """Record the provider's report that the connection is ``state``; returns False for a
        report older than the one already recorded (webhooks arrive in any order).

        A connected channel needs no QR code any more, so ``open`` forgets it. What the health
        checks recorded (activity, degraded flag, reconnect attempts) is kept.

        Raises:
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        current = self.connection
        if current is not None and at < current.updated_at:
            return False
        if current is None:
            self.connection = ChannelConnection(
                state=state,
                since=at,
                updated_at=at,
                reason=reason,
                last_open_at=at if state == "open" else None,
            )
            return True
        keep_qr = state != "open"
        self.connection = attrs.evolve(
            current,
            state=state,
            since=current.since if current.state == state else at,
            updated_at=at,
            reason=reason,
            qr_code=current.qr_code if keep_qr else None,
            pairing_code=current.pairing_code if keep_qr else None,
            last_open_at=at if state == "open" else current.last_open_at,
        )
        return True

    def record_qr_code(self, code: str, pairing_code: str | None, at: datetime) -> bool:
        """Keep the provider's latest QR code (and pairing code) for pairing the number; the
        channel is ``connecting`` meanwhile. Returns False for a code older than the recorded
        report.

        Raises:
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        current = self.connection
        if current is not None and at < current.updated_at:
            return False
        state = "connecting"
        if current is None:
            self.connection = ChannelConnection(
                state=state, since=at, updated_at=at, qr_code=code, pairing_code=pairing_code
            )
            return True
        self.connection = attrs.evolve(
            current,
            state=state,
            since=current.since if current.state == state else at,
            updated_at=at,
            reason=None,
            qr_code=code,
            pairing_code=pairing_code,
        )
        return True

    def record_health_check(
        self,
        *,
        at: datetime,
        rule: HealthRule,
        state: str | None = None,
        error: str | None = None,
        activity_at: datetime | None = None,
    ) -> None:
        """Record what a health check found and apply ``rule``.

        Args:
            at: When the check was made.
            rule: The degraded rule and the reconnect backoff.
            state: The provider's live answer (None: it did not answer). The live answer wins
                over the last webhook's state, whatever their timestamps say (the bridge's
                clock and Porfin's may differ).
            error: Why the provider did not answer.
            activity_at: The last time the bridge sent anything, as this process saw it
                (the latest of this and the recorded activity is kept).

        Only a live answer decides the degraded flag; a change records
        :class:`~porfin_core.domain.events.ChannelDegraded` or
        :class:`~porfin_core.domain.events.ChannelRecovered`. An open, healthy channel's
        reconnect attempts start again from zero. Without a live state and without any
        earlier report there is nothing to record.

        Raises:
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        current = self.connection
        if state is not None:
            current = _observed(current, state, at)
        if current is None:
            return
        latest = current.last_activity_at
        if activity_at is not None and (latest is None or activity_at > latest):
            latest = activity_at
        current = attrs.evolve(current, last_activity_at=latest, checked_at=at, check_error=error)
        if state is not None:
            degraded = rule.is_degraded(current, at)
            if degraded and not current.degraded:
                quiet = rule.quiet_since(current)
                current = attrs.evolve(current, degraded=True, degraded_since=at)
                self.record(
                    ChannelDegraded(
                        clinic_id=self.clinic_id,
                        occurred_at=at,
                        channel_id=self.id,
                        quiet_since=quiet,
                    )
                )
            elif current.degraded and not degraded:
                self.record(
                    ChannelRecovered(
                        clinic_id=self.clinic_id,
                        occurred_at=at,
                        channel_id=self.id,
                        state=current.state,
                        degraded_since=current.degraded_since,
                    )
                )
                current = attrs.evolve(current, degraded=False, degraded_since=None)
            if current.state == "open" and not degraded:
                current = attrs.evolve(current, reconnect_attempts=0, next_reconnect_at=None)
        self.connection = current

    def start_reconnect(self, at: datetime, rule: HealthRule) -> int | None:
        """Take the reconnect attempt due at ``at``, if there is one: count it and set when the
        next may be made. Returns the attempt's number (1, 2...), or None when no attempt is
        needed or the backoff has not passed (e.g. another process just made it).

        Raises:
            InvalidStateTransition: the channel was removed.
        """
        self.check_changeable()
        current = self.connection
        if current is None or not rule.reconnect_due(current, at):
            return None
        attempts = current.reconnect_attempts + 1
        self.connection = attrs.evolve(
            current,
            reconnect_attempts=attempts,
            last_reconnect_at=at,
            next_reconnect_at=at + rule.retry_delay(attempts),
        )
        return attempts

    def archive(self, at: datetime) -> list[SecretRef]:
        """Remove the channel: inactive for good, no secrets; returns the references dropped
        (the caller deletes the secrets themselves once the change is committed).

        Raises:
            InvalidStateTransition: already removed.
        """
        self.check_changeable()
        self.active = False
        self.archived_at = at
        dropped = list(self.secrets.values())
        self.secrets = {}
        return dropped


def _observed(current: ChannelConnection | None, state: str, at: datetime) -> ChannelConnection:
    """``current`` after a live answer that the connection is ``state`` at ``at``."""
    opened = at if state == "open" else None
    if current is None:
        return ChannelConnection(state=state, since=at, updated_at=at, last_open_at=opened)
    if current.state == state:
        return attrs.evolve(current, last_open_at=opened or current.last_open_at)
    keep_qr = state != "open"
    return attrs.evolve(
        current,
        state=state,
        since=at,
        # Later webhooks are compared with this: never move it back.
        updated_at=max(current.updated_at, at),
        reason=None,
        qr_code=current.qr_code if keep_qr else None,
        pairing_code=current.pairing_code if keep_qr else None,
        last_open_at=opened or current.last_open_at,
    )
