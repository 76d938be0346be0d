"""The API's request and response bodies (separate from the domain entities)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from porfin_core.domain.audit import AuditRecord
from porfin_core.domain.channel import (
    PROVIDER_SETTINGS,
    Channel,
    ChannelConnection,
    MessageTemplate,
    SettingPlace,
)
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic, OpeningHours
from porfin_core.domain.customer import Customer
from porfin_core.domain.media import StoredMedia
from porfin_core.domain.message import MediaRef, Message

Mode = Literal["ai", "human", "paused"]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with offset")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
ChatStatusName = Literal["open", "closed"]


class ChatOut(msgspec.Struct):
    """A chat as the inbox shows it."""

    id: str
    customer_id: str
    channel_id: str
    customer_name: str
    customer_phone: str | None
    mode: Mode
    effective_mode: Mode
    paused_until: datetime | None
    handoff_reason: str | None
    handoff_summary: str | None
    urgent: bool
    status: ChatStatusName
    assignee_id: str | None
    unread_count: int
    window_open: bool
    window_expires_at: datetime | None
    last_inbound_at: datetime | None
    last_message_at: datetime
    last_message_preview: str
    created_at: datetime
    waiting_since: Annotated[
        datetime | None,
        msgspec.Meta(
            description="Since when the patient waits for a person to answer (null: nobody "
            "must answer). Set by a patient message while a person has the chat, or by a "
            "handoff with the patient's message unanswered; cleared by a reply of staff, of "
            "the clinic's phone or of the AI in charge, by resuming the AI, by closing."
        ),
    ]

    @classmethod
    def of(cls, chat: Chat, now: datetime) -> ChatOut:
        """Present ``chat`` as seen at ``now``."""
        return cls(
            id=chat.id,
            customer_id=chat.customer_id,
            channel_id=chat.channel_id,
            customer_name=chat.customer_name,
            customer_phone=chat.customer_phone,
            mode=chat.mode,  # type: ignore[arg-type]
            effective_mode=chat.effective_mode(now),  # type: ignore[arg-type]
            paused_until=chat.paused_until,
            handoff_reason=chat.handoff_reason,
            handoff_summary=chat.handoff_summary,
            urgent=chat.urgent,
            status=chat.status,  # type: ignore[arg-type]
            assignee_id=chat.assignee_id,
            unread_count=chat.unread_count,
            window_open=chat.window_open(now),
            window_expires_at=chat.window_expires_at(),
            last_inbound_at=chat.last_inbound_at,
            last_message_at=chat.last_message_at,
            last_message_preview=chat.last_message_preview,
            created_at=chat.created_at,
            waiting_since=chat.waiting_since,
        )


class ChatPage(msgspec.Struct):
    """A page of chats; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[ChatOut]
    next_cursor: str | None


class StatusOut(msgspec.Struct):
    """One step of a message's delivery history."""

    status: str
    at: datetime
    error_code: str | None = None
    error_detail: str | None = None


class MediaOut(msgspec.Struct):
    """A message's media; ``media_id`` names Porfin's copy (``GET /api/v1/media/{id}``)."""

    mime_type: str | None = None
    url: str | None = None
    filename: str | None = None
    caption: str | None = None
    sha256: str | None = None
    size: int | None = None
    media_id: str | None = None

    @classmethod
    def of(cls, media: MediaRef | None) -> MediaOut | None:
        """Present ``media`` (None stays None)."""
        if media is None:
            return None
        return cls(
            mime_type=media.mime_type,
            url=media.url,
            filename=media.filename,
            caption=media.caption,
            sha256=media.sha256,
            size=media.size,
            media_id=media.stored_path,
        )


class MessageOut(msgspec.Struct):
    """A message of a chat's timeline with its delivery status."""

    id: str
    chat_id: str
    channel_id: str
    direction: Literal["inbound", "outbound"]
    author: Literal["patient", "ai", "staff", "clinic_phone", "system"]
    author_id: str | None
    kind: str
    body: str | None
    media: MediaOut | None
    extra: dict[str, Any]
    provider_message_id: str | None
    reply_to_provider_id: str | None
    status: str
    error: StatusOut | None
    history: list[StatusOut]
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        """Present ``message``.

        Enum members go in as they are (msgspec writes a ``StrEnum`` as its value): reading
        ``.value`` costs an enum descriptor call per field, and a timeline page has 50.
        """
        history = [StatusOut(h.status, h.at, h.error_code, h.error_detail) for h in message.history]
        failure = message.failure
        return cls(
            id=message.id,
            chat_id=message.chat_id,
            channel_id=message.channel_id,
            direction=message.direction,  # type: ignore[arg-type]
            author=message.author,  # type: ignore[arg-type]
            author_id=message.author_id,
            kind=message.kind,
            body=message.body,
            media=MediaOut.of(message.media),
            extra=message.extra,
            provider_message_id=message.provider_message_id,
            reply_to_provider_id=message.reply_to_provider_id,
            status=message.status,
            error=(
                StatusOut(failure.status, failure.at, failure.error_code, failure.error_detail)
                if failure
                else None
            ),
            history=history,
            sent_at=message.sent_at,
            created_at=message.created_at,
        )


class MessagePage(msgspec.Struct):
    """A page of a timeline, newest first; ``next_cursor`` leads to older messages."""

    items: list[MessageOut]
    next_cursor: str | None


TemplateName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=512, examples=["retorno_consulta"])
]
TemplateLanguage = Annotated[
    str,
    msgspec.Meta(min_length=2, max_length=6, examples=["pt_BR"], description="Default pt_BR."),
]


class TemplateSendIn(msgspec.Struct, forbid_unknown_fields=True):
    """One of the channel's templates (``GET /api/v1/channels/{id}/templates``) with a value
    for each placeholder, ``{{1}}`` first."""

    name: TemplateName
    language: TemplateLanguage = "pt_BR"
    parameters: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=1024)]], msgspec.Meta(max_length=100)
    ] = msgspec.field(default_factory=list)


class SendMessageIn(msgspec.Struct, forbid_unknown_fields=True):
    """A staff message: ``text``, or an uploaded file's ``media_id`` (``POST /api/v1/media``)
    with an optional ``caption`` (not for audio), or a ``template`` of the channel (also
    when the 24-hour window has closed)."""

    text: Text | None = None
    media_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    caption: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    template: TemplateSendIn | None = None


class ChatPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a chat; omitted fields stay as they are.

    ``mode``: ``ai`` resumes the AI, ``human`` hands the chat to a person (with ``reason``
    for a handoff), ``paused`` silences the AI until ``paused_until``. ``assignee_id``:
    a staff user id, or null to unassign. ``read``: true marks every message read.
    """

    mode: Mode | None = None
    paused_until: AwareDatetime | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    assignee_id: str | msgspec.UnsetType | None = msgspec.UNSET
    status: ChatStatusName | None = None
    read: bool = False


class SimulatedMessage(msgspec.Struct, forbid_unknown_fields=True):
    """A patient's message through the simulator channel.

    ``id`` is the provider message id (a redelivery with the same id is stored once);
    ``from`` the patient's phone in any format; ``from_me`` marks a message typed on the
    clinic's own phone to that patient.
    """

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    from_: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = msgspec.field(name="from")
    text: Text
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    timestamp: AwareDatetime | None = None
    from_me: bool = False


class SimulatedStatus(msgspec.Struct, forbid_unknown_fields=True):
    """A delivery status for a message sent through the simulator."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    status: Literal["sent", "delivered", "read", "played", "failed"]
    timestamp: AwareDatetime | None = None
    error_code: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    error_detail: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class SimulatorEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The simulator webhook's body: exactly one of ``message`` or ``status``."""

    message: SimulatedMessage | None = None
    status: SimulatedStatus | None = None


class ReceivedOut(msgspec.Struct):
    """Where an inbound message landed; ``duplicate`` when it had been received before."""

    message_id: str
    chat_id: str
    customer_id: str
    duplicate: bool


class StatusRecordedOut(msgspec.Struct):
    """``applied``: the status moved forward; ``pending``: kept until its message is known."""

    applied: bool
    pending: bool
    message_id: str | None


class Health(msgspec.Struct):
    """Liveness / readiness."""

    status: Literal["ok", "unavailable"]
    storage: str | None = None


ProviderName = Literal["cloud_api", "evolution", "simulator"]
ChannelName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ChannelPhone = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=40,
        description="The number in any spelling; stored in E.164.",
        examples=["+55 11 98765-4321"],
    ),
]
ProviderId = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern="^[0-9]+$")]
SecretValue = Annotated[
    str, msgspec.Meta(min_length=1, max_length=4096, description="Write-only: never returned.")
]
ApiVersion = Annotated[str, msgspec.Meta(pattern="^v[0-9]{1,3}\\.[0-9]{1,3}$", examples=["v23.0"])]
BaseUrl = Annotated[
    str, msgspec.Meta(min_length=1, max_length=500, examples=["https://evolution.example.com"])
]
InstanceName = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_.-]{1,100}$")]


class CloudApiSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    """A WhatsApp Cloud API number: its ids and credentials (secrets are write-only)."""

    phone_number_id: ProviderId
    waba_id: ProviderId
    access_token: SecretValue
    app_secret: SecretValue
    api_version: ApiVersion | None = None
    webhook_verify_token: SecretValue | None = None


class EvolutionSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    """An Evolution API instance (Baileys): server, instance and API key (write-only)."""

    base_url: BaseUrl
    instance: InstanceName
    api_key: SecretValue
    webhook_secret: SecretValue | None = None


class CloudApiSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Cloud API settings to change: a value replaces, ``null`` removes an optional one."""

    phone_number_id: ProviderId | msgspec.UnsetType = msgspec.UNSET
    waba_id: ProviderId | msgspec.UnsetType = msgspec.UNSET
    access_token: SecretValue | msgspec.UnsetType = msgspec.UNSET
    app_secret: SecretValue | msgspec.UnsetType = msgspec.UNSET
    api_version: ApiVersion | msgspec.UnsetType | None = msgspec.UNSET
    webhook_verify_token: SecretValue | msgspec.UnsetType | None = msgspec.UNSET


class EvolutionSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Evolution settings to change: a value replaces, ``null`` removes an optional one."""

    base_url: BaseUrl | msgspec.UnsetType = msgspec.UNSET
    instance: InstanceName | msgspec.UnsetType = msgspec.UNSET
    api_key: SecretValue | msgspec.UnsetType = msgspec.UNSET
    webhook_secret: SecretValue | msgspec.UnsetType | None = msgspec.UNSET


def provider_settings(settings: msgspec.Struct | None) -> dict[str, str | None]:
    """The fields a settings object holds, by name (fields left out are not there)."""
    if settings is None:
        return {}
    values = msgspec.structs.asdict(settings)
    return {name: value for name, value in values.items() if value is not msgspec.UNSET}


class TemplateIn(msgspec.Struct, forbid_unknown_fields=True):
    """An approved WhatsApp template as registered in WhatsApp Manager: its name, language
    and body text with ``{{1}}``, ``{{2}}``... placeholders."""

    name: TemplateName
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    language: TemplateLanguage = "pt_BR"


class TemplateOut(msgspec.Struct):
    """A template staff may send; ``parameters``: how many values its placeholders take."""

    name: str
    language: str
    body: str
    parameters: int

    @classmethod
    def of(cls, template: MessageTemplate) -> TemplateOut:
        """Present ``template``."""
        return cls(
            name=template.name,
            language=template.language,
            body=template.body,
            parameters=template.parameter_count,
        )


Templates = Annotated[
    list[TemplateIn],
    msgspec.Meta(
        max_length=100,
        description="Approved WhatsApp templates staff may send (Cloud API and simulator "
        "numbers); the list replaces the channel's.",
    ),
]


class ChannelIn(msgspec.Struct, forbid_unknown_fields=True):
    """A number to add: ``cloud_api`` or ``evolution`` holds its provider's settings (the
    simulator has none); ``phone`` is required except for the simulator."""

    name: ChannelName
    provider: ProviderName
    phone: ChannelPhone | None = None
    cloud_api: CloudApiSettingsIn | None = None
    evolution: EvolutionSettingsIn | None = None
    templates: Templates | None = None


class ChannelPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a channel; omitted fields stay as they are.

    ``name`` and ``active`` need ``channels.operate`` (managers); ``phone``, the provider
    object (the channel's own provider only) and ``templates`` need ``channels.manage``
    (administrators).
    """

    name: ChannelName | None = None
    active: bool | None = None
    phone: ChannelPhone | None = None
    cloud_api: CloudApiSettingsPatch | None = None
    evolution: EvolutionSettingsPatch | None = None
    templates: Templates | None = None


class SecretOut(msgspec.Struct):
    """Whether a credential is configured; ``last4`` (administrators only, for secrets of 16
    characters or more) helps recognize which one. The value itself is never returned."""

    configured: bool
    last4: str | None = None


class ConnectionOut(msgspec.Struct):
    """How an Evolution number's link to WhatsApp stands: the provider's last report and
    what Porfin's health checks found (docs/whatsapp-evolution.md, "Health and reconnects")."""

    state: Annotated[
        str,
        msgspec.Meta(
            description="The provider's word: `open`, `connecting`, `close` or `refused`.",
            examples=["open"],
        ),
    ]
    since: Annotated[datetime, msgspec.Meta(description="When the number entered `state`.")]
    updated_at: Annotated[
        datetime, msgspec.Meta(description="When the provider last reported on the connection.")
    ]
    reason: Annotated[
        str | None,
        msgspec.Meta(description="Why, when the provider said (`401`: the phone logged out)."),
    ]
    qr_pending: Annotated[
        bool,
        msgspec.Meta(
            description="A QR code waits to be scanned (`porfin whatsapp connect`); the code "
            "itself is never returned."
        ),
    ]
    last_activity_at: Annotated[
        datetime | None,
        msgspec.Meta(
            description="The last time the bridge sent anything for the number (any webhook), "
            "as of the last health check (it lags by up to one check interval)."
        ),
    ]
    checked_at: Annotated[
        datetime | None, msgspec.Meta(description="When a health check last asked the provider.")
    ]
    check_error: Annotated[
        str | None,
        msgspec.Meta(description="Why the last health check got no answer (null: it got one)."),
    ]
    degraded: Annotated[
        bool,
        msgspec.Meta(
            description="The connection looks open but nothing came through it for longer "
            "than `evolution_degraded_after_minutes`: messages may be getting lost."
        ),
    ]
    degraded_since: Annotated[
        datetime | None, msgspec.Meta(description="When the health checks found it degraded.")
    ]
    reconnect_attempts: Annotated[
        int,
        msgspec.Meta(
            ge=0, description="Automatic reconnect attempts since the number was last healthy."
        ),
    ]
    last_reconnect_at: Annotated[
        datetime | None, msgspec.Meta(description="When the last automatic attempt was made.")
    ]
    next_reconnect_at: Annotated[
        datetime | None,
        msgspec.Meta(description="The earliest time of the next attempt (exponential backoff)."),
    ]

    @classmethod
    def of(cls, connection: ChannelConnection) -> ConnectionOut:
        """Present ``connection`` (without its QR or pairing code)."""
        return cls(
            state=connection.state,
            since=connection.since,
            updated_at=connection.updated_at,
            reason=connection.reason,
            qr_pending=connection.qr_code is not None,
            last_activity_at=connection.last_activity_at,
            checked_at=connection.checked_at,
            check_error=connection.check_error,
            degraded=connection.degraded,
            degraded_since=connection.degraded_since,
            reconnect_attempts=connection.reconnect_attempts,
            last_reconnect_at=connection.last_reconnect_at,
            next_reconnect_at=connection.next_reconnect_at,
        )


class ChannelOut(msgspec.Struct):
    """A WhatsApp number of the clinic (secrets are never shown)."""

    id: str
    name: str
    provider: ProviderName
    phone: str | None
    active: bool
    created_at: datetime
    archived_at: Annotated[
        datetime | None, msgspec.Meta(description="When it was removed (`DELETE`).")
    ]
    settings: Annotated[
        dict[str, str],
        msgspec.Meta(description="Provider ids and plain settings (`phone_number_id`, ...)."),
    ]
    secrets: Annotated[
        dict[str, SecretOut],
        msgspec.Meta(description="Every credential of the provider: configured or not."),
    ]
    connection: Annotated[
        ConnectionOut | None,
        msgspec.Meta(
            description="The link to WhatsApp (Evolution numbers): state, last activity, "
            "degraded flag, reconnect attempts. Null until the provider reports on it."
        ),
    ]
    templates: Annotated[
        list[TemplateOut],
        msgspec.Meta(description="Approved WhatsApp templates staff may send."),
    ]

    @classmethod
    def of(cls, channel: Channel, *, show_hints: bool = False) -> ChannelOut:
        """Present ``channel``; ``show_hints`` adds each secret's last four characters."""
        secrets = {}
        for setting in PROVIDER_SETTINGS[channel.provider]:
            if setting.place is SettingPlace.SECRET:
                ref = channel.secrets.get(setting.name)
                hint = ref.hint if ref is not None and show_hints else None
                secrets[setting.name] = SecretOut(configured=ref is not None, last4=hint)
        return cls(
            id=channel.id,
            name=channel.name,
            provider=channel.provider.value,  # type: ignore[arg-type]
            phone=channel.phone,
            active=channel.active,
            created_at=channel.created_at,
            archived_at=channel.archived_at,
            settings={**channel.external_ids, **channel.settings},
            secrets=secrets,
            connection=ConnectionOut.of(channel.connection) if channel.connection else None,
            templates=[TemplateOut.of(t) for t in channel.templates],
        )


class MediaUploadOut(msgspec.Struct):
    """A stored upload: send it with ``{"media_id": id}``, download it at
    ``GET /api/v1/media/{id}``."""

    id: str
    kind: Literal["image", "audio", "video", "document"]
    mime_type: str
    size: int
    sha256: Annotated[str, msgspec.Meta(description="Hex SHA-256 of the bytes.")]
    filename: str | None
    created_at: datetime

    @classmethod
    def of(cls, media: StoredMedia) -> MediaUploadOut:
        """Present ``media``."""
        return cls(
            id=media.id,
            kind=media.kind.value,  # type: ignore[arg-type]
            mime_type=media.mime_type,
            size=media.size,
            sha256=media.sha256,
            filename=media.filename,
            created_at=media.created_at,
        )


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    """E-mail and password."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    otp: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=64,
                description="With two-step verification on: the authenticator app's six "
                "digits or a recovery code. Without it the answer is `401 mfa_required`.",
            ),
        ]
        | None
    ) = None


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    """The refresh token received at login or at the last refresh."""

    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class FirebaseLoginIn(msgspec.Struct, forbid_unknown_fields=True):
    """A Firebase ID token, as the Firebase client SDK's ``getIdToken()`` returns it."""

    id_token: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=8192,
            description="The signed-in Firebase user's ID token (a JWT, RS256).",
            examples=["eyJhbGciOiJSUzI1NiIsImtpZCI6IjFlOWdkazcifQ.eyJpc3MiOiJodHRwczovL3..."],
        ),
    ]


class SessionOut(msgspec.Struct):
    """Tokens of a session. ``access_token`` goes in ``Authorization: Bearer``; keep
    ``refresh_token`` secret: it works once and buys the next pair."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime


class UserOut(msgspec.Struct):
    """A staff account (never its password hash)."""

    id: str
    clinic_id: str
    name: str
    email: str
    role: Literal["admin", "manager", "secretary"]
    active: bool
    status: Annotated[
        Literal["invited", "active", "disabled"],
        msgspec.Meta(description="`invited`: the invitation was not accepted yet."),
    ]
    mfa_enabled: bool
    created_at: datetime
    permissions: list[str]


class AuditRecordOut(msgspec.Struct):
    """One audit record, exactly as chained (see docs/audit.md for the canonical form)."""

    clinic_id: str
    seq: Annotated[int, msgspec.Meta(description="Position in the clinic's chain, from 1.")]
    at: datetime
    actor_id: str
    actor_kind: Annotated[str, msgspec.Meta(description="`user`, `system` or `api_token`.")]
    action: Annotated[str, msgspec.Meta(examples=["chat.read"])]
    resource_type: str
    resource_id: str
    source: Annotated[str, msgspec.Meta(description="Client IP address, `cli` or `system`.")]
    request_id: str | None
    details: dict[str, str]
    prev_hash: Annotated[str, msgspec.Meta(description="`hash` of the previous record.")]
    hash: Annotated[str, msgspec.Meta(description="SHA-256 (hex) of the canonical form.")]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        """Present ``record``."""
        return cls(
            clinic_id=record.clinic_id,
            seq=record.seq,
            at=record.at,
            actor_id=record.actor_id,
            actor_kind=record.actor_kind,
            action=record.action,
            resource_type=record.resource_type,
            resource_id=record.resource_id,
            source=record.source,
            request_id=record.request_id,
            details=dict(record.details),
            prev_hash=record.prev_hash,
            hash=record.hash,
        )


class AuditPage(msgspec.Struct):
    """A page of audit records, newest first."""

    items: list[AuditRecordOut]
    next_cursor: str | None


Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
OneTimeToken = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
RoleName = Literal["admin", "manager", "secretary"]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class InvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who to invite."""

    name: PersonName
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    role: RoleName


class InvitationOut(msgspec.Struct):
    """The invited account and its one-time token: hand the token to the person (it is shown
    only now); they accept it at `POST /api/v1/auth/invitations/accept`."""

    user: UserOut
    token: str
    expires_at: datetime


class AccountTokenOut(msgspec.Struct):
    """A one-time token, shown only now."""

    token: str
    expires_at: datetime


class TokenPasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    """A one-time token (invitation or reset) and the password its bearer chooses."""

    token: OneTimeToken
    password: Password


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Fields to change; absent fields stay as they are."""

    name: PersonName | None = None
    role: RoleName | None = None
    active: Annotated[
        bool | None,
        msgspec.Meta(description="`false` disables the account and ends its sessions."),
    ] = None


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True):
    """The caller's own profile."""

    name: PersonName


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    """The current password and the new one (at least 10 characters)."""

    current_password: Password
    new_password: Password


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    """The caller's password, as confirmation."""

    password: Password


class OtpIn(msgspec.Struct, forbid_unknown_fields=True):
    """The code the authenticator app shows now."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class MfaEnrolmentOut(msgspec.Struct):
    """What the authenticator app needs: scan `qr_code` or type `secret`. Then confirm with a
    code at `POST /api/v1/me/mfa/totp/confirm`."""

    secret: str
    provisioning_uri: str
    qr_code: Annotated[str, msgspec.Meta(description="`data:image/svg+xml` QR code.")]


class RecoveryCodesOut(msgspec.Struct):
    """Single-use codes that replace the app's code once each; shown only now."""

    recovery_codes: list[str]


# -- customers and clinic settings ------------------------------------------------------------

FunnelStageName = Literal[
    "new_lead", "contacted", "qualified", "scheduled", "attended", "paid", "returning", "lost"
]
ConsentPurposeName = Literal["service", "reminders", "marketing"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WeekdayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ClockTime = Annotated[
    str, msgspec.Meta(max_length=5, description="Local time, `HH:MM` (24 h).", examples=["08:00"])
]


class IdentityOut(msgspec.Struct):
    """An address under which the person reached the clinic."""

    kind: Literal["phone", "wa_id", "bsuid", "jid", "lid"]
    value: str


class ConsentOut(msgspec.Struct):
    """The latest decision for one purpose: when, how (`inbound_message`: implied by writing
    to the clinic; `staff`: recorded by staff) and who recorded it."""

    granted: bool
    at: datetime
    source: str
    recorded_by: str | None


class CustomerOut(msgspec.Struct):
    """A lead or patient: profile, funnel stage, tags and LGPD consents per purpose."""

    id: str
    name: str
    phone: Annotated[
        str | None, msgspec.Meta(description="E.164; null when only a LID or BSUID is known.")
    ]
    identities: list[IdentityOut]
    stage: FunnelStageName
    tags: list[str]
    consents: Annotated[
        dict[ConsentPurposeName, ConsentOut],
        msgspec.Meta(description="By purpose; a purpose never decided is absent."),
    ]
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        """Present ``customer``."""
        return cls(
            id=customer.id,
            name=customer.name,
            phone=customer.phone,
            identities=[
                IdentityOut(i.kind.value, i.value)  # type: ignore[arg-type]
                for i in customer.identities
            ],
            stage=customer.stage.value,  # type: ignore[arg-type]
            tags=list(customer.tags),
            consents={
                purpose.value: ConsentOut(c.granted, c.at, c.source, c.recorded_by)  # type: ignore[misc]
                for purpose, c in customer.consents.items()
            },
            created_at=customer.created_at,
        )


class CustomerPage(msgspec.Struct):
    """A page of customers, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[CustomerOut]
    next_cursor: str | None


class CustomerPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a customer; omitted (or null) fields stay as they are.

    ``name``: 1-200 characters after trimming. ``tags``: the complete new list (lower-cased,
    spaces collapsed, repeats dropped; at most 20 tags of up to 40 characters; `[]` removes
    them all). ``consents``: decisions the patient told the clinic, `true` grants and `false`
    withdraws; each change is kept with its time, source `staff` and who recorded it.
    """

    name: str | None = None
    tags: list[str] | None = None
    stage: FunnelStageName | None = None
    consents: dict[ConsentPurposeName, bool] | None = None


class CustomerMerge(msgspec.Struct, forbid_unknown_fields=True):
    """The customer to merge into the one of the URL (the same person under another record).

    ``duplicate_id``: that customer's id; it is merged and no longer listed or read.
    """

    duplicate_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class OpeningHoursOut(msgspec.Struct):
    """One interval in which the front desk is staffed, in the clinic's local time."""

    weekday: WeekdayName
    opens: ClockTime
    closes: ClockTime

    @classmethod
    def of(cls, hours: OpeningHours) -> OpeningHoursOut:
        """Present ``hours``."""
        return cls(
            WEEKDAYS[hours.weekday - 1],  # type: ignore[arg-type]
            hours.opens.strftime("%H:%M"),
            hours.closes.strftime("%H:%M"),
        )


class OpeningHoursIn(msgspec.Struct, forbid_unknown_fields=True):
    """One opening interval: `closes` after `opens`; intervals of one weekday must not
    overlap."""

    weekday: WeekdayName
    opens: ClockTime
    closes: ClockTime


class ClinicOut(msgspec.Struct):
    """The clinic's settings."""

    id: str
    name: str
    timezone: Annotated[
        str, msgspec.Meta(description="IANA time zone.", examples=["America/Sao_Paulo"])
    ]
    locale: str
    phone: Annotated[str | None, msgspec.Meta(description="E.164.")]
    address: str | None
    city: str | None
    state: Annotated[str | None, msgspec.Meta(description="UF, e.g. `SP`.")]
    business_hours: list[OpeningHoursOut]
    reminders: Annotated[
        list[str],
        msgspec.Meta(
            description="When appointment reminders go out: `1d@10:00` (the day before at "
            "10:00, clinic time), `2h` (two hours before).",
            examples=[["1d@10:00", "2h"]],
        ),
    ]
    pix_key: Annotated[
        str | None,
        msgspec.Meta(description="The clinic's PIX key, canonical (charges' BR Codes use it)."),
    ] = None
    pix_merchant_name: Annotated[
        str | None,
        msgspec.Meta(description="Receiver name in BR Codes (null: the clinic's name)."),
    ] = None
    pix_merchant_city: Annotated[
        str | None,
        msgspec.Meta(description="Receiver city in BR Codes (null: the clinic's city)."),
    ] = None
    ai_resume_after_hours: Annotated[
        int | None,
        msgspec.Meta(
            description="A chat a person took over goes back to the AI when the patient "
            "writes after it was closed this many hours (null: only staff give it back)."
        ),
    ] = None

    @classmethod
    def of(cls, clinic: Clinic) -> ClinicOut:
        """Present ``clinic``."""
        return cls(
            id=clinic.id,
            name=clinic.name,
            timezone=clinic.timezone,
            locale=clinic.locale,
            phone=clinic.phone,
            address=clinic.address,
            city=clinic.city,
            state=clinic.state,
            business_hours=[OpeningHoursOut.of(h) for h in clinic.business_hours],
            reminders=list(clinic.reminders),
            pix_key=clinic.pix_key,
            pix_merchant_name=clinic.pix_merchant_name,
            pix_merchant_city=clinic.pix_merchant_city,
            ai_resume_after_hours=clinic.ai_resume_after_hours,
        )


OptionalText = Annotated[str, msgspec.Meta(max_length=400)] | msgspec.UnsetType | None


class ClinicPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to the clinic's settings; omitted fields stay as they are.

    ``name`` (1-120 characters) and ``timezone`` (an IANA zone such as `America/Manaus`): null
    changes nothing. ``phone`` (any spelling, with the area code), ``address``, ``city`` and
    ``state`` (a UF such as `SP`): null removes the value. ``business_hours``: the complete
    new list (`[]`: none known). ``reminders``: the complete new reminder plan, at most 5
    (`1d@10:00`: the day before at 10:00; `2h`: two hours before; `[]`: no reminders).
    ``pix_key`` (CPF, CNPJ, e-mail, `+55` phone or random key), ``pix_merchant_name`` and
    ``pix_merchant_city`` (the receiver shown by banking apps): null removes the value.
    ``ai_resume_after_hours``: a closed chat a person took over goes back to the AI when the
    patient writes this many hours later (`0`: never by itself).
    """

    name: Annotated[str, msgspec.Meta(max_length=400)] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    phone: OptionalText = msgspec.UNSET
    address: OptionalText = msgspec.UNSET
    city: OptionalText = msgspec.UNSET
    state: OptionalText = msgspec.UNSET
    business_hours: Annotated[list[OpeningHoursIn], msgspec.Meta(max_length=50)] | None = None
    reminders: (
        Annotated[
            list[
                Annotated[
                    str,
                    msgspec.Meta(
                        max_length=16, pattern=r"^([0-9]{1,2}d@[0-9]{2}:[0-9]{2}|[0-9]{1,2}h)$"
                    ),
                ]
            ],
            msgspec.Meta(max_length=5),
        ]
        | None
    ) = None
    pix_key: OptionalText = msgspec.UNSET
    pix_merchant_name: OptionalText = msgspec.UNSET
    pix_merchant_city: OptionalText = msgspec.UNSET
    ai_resume_after_hours: Annotated[int, msgspec.Meta(ge=0, le=720)] | None = None


class AppointmentCountsOut(msgspec.Struct):
    """The day's appointments: how many, and how many are in each status."""

    total: int
    by_status: Annotated[
        dict[str, int],
        msgspec.Meta(
            description="Every status: `requested`, `confirmed`, `attended`, `no_show`, "
            "`cancelled` (zeros included)."
        ),
    ]


class FirstResponseOut(msgspec.Struct):
    """How fast patients got a first answer that day."""

    median_seconds: Annotated[
        int | None,
        msgspec.Meta(
            description="Median seconds from each chat's first patient message of the day to "
            "the first answer after it (AI, staff or the clinic's phone); null: none answered."
        ),
    ]
    count: Annotated[int, msgspec.Meta(description="First messages answered.")]


class ChatsHandledOut(msgspec.Struct):
    """Chats answered that day: by the AI alone, or by a person (staff or the clinic's
    phone, with or without the AI)."""

    ai: int
    human: int


class DashboardOut(msgspec.Struct):
    """One clinic day in figures (the clinic's time zone)."""

    date: Annotated[str, msgspec.Meta(description="The local date, YYYY-MM-DD.")]
    timezone: str
    appointments: AppointmentCountsOut
    chats_waiting: Annotated[
        int,
        msgspec.Meta(description="Chats waiting for a person now (the caller may see them)."),
    ]
    longest_wait_seconds: Annotated[
        int | None,
        msgspec.Meta(description="How long the oldest waiting chat has waited; null: none."),
    ]
    new_leads: Annotated[int, msgspec.Meta(description="Customers first seen that day.")]
    first_response: FirstResponseOut
    chats_handled: ChatsHandledOut
    patient_messages_by_hour: Annotated[
        list[int],
        msgspec.Meta(
            min_length=24, max_length=24, description="Patient messages per local hour, 0-23."
        ),
    ]
