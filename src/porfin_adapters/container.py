"""The composition root: every adapter and use case, assembled from one :class:`Settings`.

Shells build a :class:`Container`, call :func:`start` before serving and :func:`stop` after;
tests override providers (clock, ids, gateways) with ``container.clock.override(...)``.
"""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from porfin_adapters.assistant import AssistantReactions, ChatModelsByEngine
from porfin_adapters.charges import ChargeReactions
from porfin_adapters.events import EventDispatcher
from porfin_adapters.evolution.gateway import EvolutionGateway
from porfin_adapters.evolution.health import ChannelActivity, EvolutionHealthMonitor
from porfin_adapters.evolution.inbound import EvolutionInbound
from porfin_adapters.evolution.inbound_media import EvolutionMediaSource
from porfin_adapters.formats import BabelFormats
from porfin_adapters.gateways import ProviderGatewayDirectory
from porfin_adapters.google_calendar import build_google_calendar_if_configured
from porfin_adapters.google_calendar.busy import CalendarBusyTimes
from porfin_adapters.google_calendar.jobs import calendar_job_handlers
from porfin_adapters.holidays_br import BrazilianHolidays
from porfin_adapters.jobs import JobWorker
from porfin_adapters.knowledge.extract import DocumentTextExtractor
from porfin_adapters.knowledge.stores import build_knowledge_base
from porfin_adapters.knowledge.stores import knowledge_vectors as vectors_of
from porfin_adapters.media_downloads import InboundMediaDownloads
from porfin_adapters.media_sources import ProviderMediaSources
from porfin_adapters.offline_engine import OfflineEngine
from porfin_adapters.openai.config import (
    build_openai_chat_model,
    build_openai_embedder,
    build_openai_transcriber,
    model_prices,
)
from porfin_adapters.outbound import OutboundSender
from porfin_adapters.payment_gateways import ConfiguredPaymentGateways
from porfin_adapters.pix_qr import SegnoQrRenderer
from porfin_adapters.rate_limits import build_rate_limiter
from porfin_adapters.redis.client import redis_client
from porfin_adapters.reminders import AppointmentReminders
from porfin_adapters.security.firebase import build_identity_verifiers
from porfin_adapters.security.passwords import Argon2PasswordHasher
from porfin_adapters.security.tokens import JwtAccessTokens, UrandomSecrets
from porfin_adapters.security.totp import PyOtpPasswords
from porfin_adapters.settings import Settings
from porfin_adapters.simulator.gateway import SimulatorGateway
from porfin_adapters.storage import build_storage
from porfin_adapters.stores import build_media_store, build_secret_store
from porfin_adapters.system import PerfCounterTimer, SystemClock, TimeOrderedIds
from porfin_adapters.tokens import ensure_jwt_secret
from porfin_adapters.whatsapp_cloud.gateway import CloudApiGateway
from porfin_adapters.whatsapp_cloud.graph import GraphClient
from porfin_adapters.whatsapp_cloud.inbound import CloudApiInbound
from porfin_adapters.whatsapp_cloud.media import CloudApiMedia, CloudApiMediaSource
from porfin_adapters.whatsapp_cloud.pacing import CloudApiPacer
from porfin_core.domain.channel import HealthRule, Provider
from porfin_core.domain.events import MessageCreated
from porfin_core.use_cases._assistant_brain import AssistantBrain
from porfin_core.use_cases._assistant_tools import AssistantTools
from porfin_core.use_cases._charges import ChargeDelivery
from porfin_core.use_cases.accept_invitation import AcceptInvitation
from porfin_core.use_cases.add_closure import AddClosure
from porfin_core.use_cases.add_knowledge_document import AddKnowledgeDocument
from porfin_core.use_cases.answer_appointment_reminder import AnswerAppointmentReminder
from porfin_core.use_cases.answer_waitlist_offer import AnswerWaitlistOffer
from porfin_core.use_cases.answer_with_assistant import AnswerWithAssistant
from porfin_core.use_cases.archive_channel import ArchiveChannel
from porfin_core.use_cases.book_appointment import BookAppointment
from porfin_core.use_cases.book_with_any_professional import BookWithAnyProfessional
from porfin_core.use_cases.cancel_appointment import CancelAppointment
from porfin_core.use_cases.cancel_charge import CancelCharge
from porfin_core.use_cases.cancel_jobs import CancelJobs
from porfin_core.use_cases.change_password import ChangePassword
from porfin_core.use_cases.claim_due_jobs import ClaimDueJobs
from porfin_core.use_cases.claim_outbound_messages import ClaimOutboundMessages
from porfin_core.use_cases.complete_calendar_connection import CompleteCalendarConnection
from porfin_core.use_cases.configure_payment_gateway import ConfigurePaymentGateway
from porfin_core.use_cases.confirm_appointment import ConfirmAppointment
from porfin_core.use_cases.confirm_charge_payment import ConfirmChargePayment
from porfin_core.use_cases.confirm_mfa_enrolment import ConfirmMfaEnrolment
from porfin_core.use_cases.create_appointment_type import CreateAppointmentType
from porfin_core.use_cases.create_assistant import CreateAssistant
from porfin_core.use_cases.create_channel import CreateChannel
from porfin_core.use_cases.create_charge import CreateCharge
from porfin_core.use_cases.create_professional import CreateProfessional
from porfin_core.use_cases.create_staff_user import CreateStaffUser
from porfin_core.use_cases.disconnect_calendar import DisconnectCalendar
from porfin_core.use_cases.expire_charge import ExpireCharge
from porfin_core.use_cases.find_free_slots import FindFreeSlots
from porfin_core.use_cases.find_webhook_channel import FindWebhookChannel
from porfin_core.use_cases.get_agenda import GetAgenda
from porfin_core.use_cases.get_appointment import GetAppointment
from porfin_core.use_cases.get_calendar_feed import GetCalendarFeed
from porfin_core.use_cases.get_channel import GetChannel
from porfin_core.use_cases.get_charge import GetCharge
from porfin_core.use_cases.get_chat import GetChat
from porfin_core.use_cases.get_chat_timeline import GetChatTimeline
from porfin_core.use_cases.get_clinic import GetClinic
from porfin_core.use_cases.get_customer import GetCustomer
from porfin_core.use_cases.get_dashboard import GetDashboard
from porfin_core.use_cases.get_media import GetMedia
from porfin_core.use_cases.get_message_media import GetMessageMedia
from porfin_core.use_cases.get_professional import GetProfessional
from porfin_core.use_cases.get_staff_user import GetStaffUser
from porfin_core.use_cases.invite_staff_user import InviteStaffUser
from porfin_core.use_cases.issue_password_reset import IssuePasswordReset
from porfin_core.use_cases.join_waitlist import JoinWaitlist
from porfin_core.use_cases.list_appointment_types import ListAppointmentTypes
from porfin_core.use_cases.list_appointments import ListAppointments
from porfin_core.use_cases.list_assistant_turns import ListAssistantTurns
from porfin_core.use_cases.list_audit_records import ListAuditRecords
from porfin_core.use_cases.list_calendar_connections import ListCalendarConnections
from porfin_core.use_cases.list_channel_templates import ListChannelTemplates
from porfin_core.use_cases.list_channels import ListChannels
from porfin_core.use_cases.list_charges import ListCharges
from porfin_core.use_cases.list_chats import ListChats
from porfin_core.use_cases.list_closures import ListClosures
from porfin_core.use_cases.list_customers import ListCustomers
from porfin_core.use_cases.list_knowledge_documents import ListKnowledgeDocuments
from porfin_core.use_cases.list_monitored_channels import ListMonitoredChannels
from porfin_core.use_cases.list_professionals import ListProfessionals
from porfin_core.use_cases.list_staff_users import ListStaffUsers
from porfin_core.use_cases.list_waitlist import ListWaitlist
from porfin_core.use_cases.log_in import LogIn
from porfin_core.use_cases.log_in_with_identity_provider import LogInWithIdentityProvider
from porfin_core.use_cases.log_out import LogOut
from porfin_core.use_cases.mark_attended import MarkAttended
from porfin_core.use_cases.mark_charge_paid import MarkChargePaid
from porfin_core.use_cases.mark_no_show import MarkNoShow
from porfin_core.use_cases.merge_customers import MergeCustomers
from porfin_core.use_cases.plan_appointment_reminders import PlanAppointmentReminders
from porfin_core.use_cases.pull_calendar_changes import PullCalendarChanges
from porfin_core.use_cases.push_appointment_to_calendar import PushAppointmentToCalendar
from porfin_core.use_cases.receive_inbound_message import ReceiveInboundMessage
from porfin_core.use_cases.receive_payment_webhook import ReceivePaymentWebhook
from porfin_core.use_cases.record_channel_connection import RecordChannelConnection
from porfin_core.use_cases.record_channel_health import RecordChannelHealth
from porfin_core.use_cases.record_delivery_status import RecordDeliveryStatus
from porfin_core.use_cases.record_job_outcomes import RecordJobOutcomes
from porfin_core.use_cases.record_reconnect_attempt import RecordReconnectAttempt
from porfin_core.use_cases.record_send_outcomes import RecordSendOutcomes
from porfin_core.use_cases.refresh_session import RefreshSession
from porfin_core.use_cases.refund_charge import RefundCharge
from porfin_core.use_cases.regenerate_recovery_codes import RegenerateRecoveryCodes
from porfin_core.use_cases.reindex_knowledge import ReindexKnowledge
from porfin_core.use_cases.remove_closure import RemoveClosure
from porfin_core.use_cases.remove_knowledge_document import RemoveKnowledgeDocument
from porfin_core.use_cases.reschedule_appointment import RescheduleAppointment
from porfin_core.use_cases.reset_password import ResetPassword
from porfin_core.use_cases.rotate_calendar_feed_token import RotateCalendarFeedToken
from porfin_core.use_cases.schedule_job import ScheduleJob
from porfin_core.use_cases.search_knowledge import SearchKnowledge
from porfin_core.use_cases.send_appointment_reminder import SendAppointmentReminder
from porfin_core.use_cases.send_staff_message import SendStaffMessage
from porfin_core.use_cases.send_waitlist_offer import SendWaitlistOffer
from porfin_core.use_cases.set_up_installation import SetUpInstallation
from porfin_core.use_cases.start_calendar_connection import StartCalendarConnection
from porfin_core.use_cases.start_mfa_enrolment import StartMfaEnrolment
from porfin_core.use_cases.store_inbound_media import StoreInboundMedia
from porfin_core.use_cases.sync_charge import SyncCharge
from porfin_core.use_cases.try_assistant import TryAssistant
from porfin_core.use_cases.turn_off_mfa import TurnOffMfa
from porfin_core.use_cases.update_appointment_type import UpdateAppointmentType
from porfin_core.use_cases.update_assistant import UpdateAssistant
from porfin_core.use_cases.update_channel import UpdateChannel
from porfin_core.use_cases.update_chat import UpdateChat
from porfin_core.use_cases.update_clinic import UpdateClinic
from porfin_core.use_cases.update_customer import UpdateCustomer
from porfin_core.use_cases.update_professional import UpdateProfessional
from porfin_core.use_cases.update_staff_user import UpdateStaffUser
from porfin_core.use_cases.upload_media import UploadMedia
from porfin_core.use_cases.verify_audit_log import VerifyAuditLog


class Container(containers.DeclarativeContainer):
    """Porfin's object graph."""

    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(TimeOrderedIds)

    storage = providers.Singleton(build_storage, settings=settings, ids=ids)
    uow_factory = providers.Singleton(lambda storage: storage.uow_factory, storage=storage)
    dispatcher = providers.Singleton(
        EventDispatcher, outbox=providers.Callable(lambda s: s.outbox, s=storage)
    )

    simulator_gateway = providers.Singleton(SimulatorGateway, ids=ids)

    # Attachments and channels' credentials: files in the data directory (in memory with the
    # memory storage).
    media_store = providers.Singleton(build_media_store, settings=settings)
    secret_store = providers.Singleton(build_secret_store, settings=settings)
    find_webhook_channel = providers.Singleton(
        FindWebhookChannel,
        uow_factory=uow_factory,
        secrets=secret_store,
        timer=providers.Singleton(PerfCounterTimer),  # channels reused for a second
    )

    # Meta's Cloud API: one Graph client (pooled connections, closed by stop()), media
    # uploads/downloads, per-number and per-patient pacing. Failed sends are retried by the
    # outbound sender (the sending outbox), not here.
    graph_client = providers.Singleton(
        lambda settings, secrets: GraphClient(secrets, base_url=settings.whatsapp_graph_url),
        settings=settings,
        secrets=secret_store,
    )
    cloud_api_media = providers.Singleton(
        CloudApiMedia, graph=graph_client, media=media_store, clock=clock, ids=ids
    )
    cloud_api_pacer = providers.Singleton(
        lambda settings: CloudApiPacer(settings.whatsapp_messages_per_second), settings=settings
    )
    cloud_api_gateway = providers.Singleton(
        CloudApiGateway, graph=graph_client, media=cloud_api_media, pacer=cloud_api_pacer
    )

    # Evolution API (Baileys bridge): the server and API key come from each channel.
    evolution_gateway = providers.Singleton(
        EvolutionGateway, secrets=secret_store, media=media_store
    )

    gateways = providers.Singleton(
        ProviderGatewayDirectory,
        gateways=providers.Dict(
            {
                Provider.SIMULATOR: simulator_gateway,
                Provider.CLOUD_API: cloud_api_gateway,
                Provider.EVOLUTION: evolution_gateway,
            }
        ),
    )

    # Redis (None without settings.redis_url) and the rate-limit buckets: in Redis when there
    # is one, shared by every API instance; in this process otherwise.
    redis = providers.Singleton(redis_client, settings=settings)
    rate_limiter = providers.Singleton(build_rate_limiter, redis=redis)

    set_up_installation = providers.Singleton(
        SetUpInstallation, uow_factory=uow_factory, clock=clock, ids=ids
    )
    receive_inbound_message = providers.Singleton(
        ReceiveInboundMessage, uow_factory=uow_factory, clock=clock, ids=ids
    )
    record_delivery_status = providers.Singleton(
        RecordDeliveryStatus, uow_factory=uow_factory, clock=clock
    )
    record_channel_connection = providers.Singleton(
        RecordChannelConnection, uow_factory=uow_factory
    )
    # Evolution health: each webhook notes its channel's last activity in this process (no
    # write on the hot path); the monitor checks every channel each interval, persists what
    # it found, flags silent sessions as degraded and reconnects with backoff.
    evolution_activity = providers.Singleton(ChannelActivity)
    channel_health_rule = providers.Singleton(
        lambda s: HealthRule(silence=timedelta(minutes=s.evolution_degraded_after_minutes)),
        s=settings,
    )
    list_monitored_channels = providers.Singleton(ListMonitoredChannels, uow_factory=uow_factory)
    record_channel_health = providers.Singleton(
        RecordChannelHealth, uow_factory=uow_factory, rule=channel_health_rule
    )
    record_reconnect_attempt = providers.Singleton(
        RecordReconnectAttempt, uow_factory=uow_factory, rule=channel_health_rule
    )
    evolution_health_monitor = providers.Singleton(
        EvolutionHealthMonitor,
        channels=list_monitored_channels,
        record_health=record_channel_health,
        record_attempt=record_reconnect_attempt,
        record_connection=record_channel_connection,
        gateway=evolution_gateway,
        activity=evolution_activity,
        clock=clock,
        interval=providers.Callable(lambda s: s.evolution_health_interval_seconds, s=settings),
    )
    evolution_inbound = providers.Singleton(
        EvolutionInbound,
        receive=receive_inbound_message,
        record_status=record_delivery_status,
        record_connection=record_channel_connection,
        media=media_store,
        clock=clock,
        activity=evolution_activity,
    )
    cloud_api_inbound = providers.Singleton(
        CloudApiInbound,
        receive=receive_inbound_message,
        record_status=record_delivery_status,
        clock=clock,
    )
    # The sending outbox: every outbound message is committed with its delivery first; staff
    # sends go out at once, the outbound sender takes the rest (retries, resumed sends).
    claim_outbound_messages = providers.Singleton(
        ClaimOutboundMessages, uow_factory=uow_factory, clock=clock
    )
    record_send_outcomes = providers.Singleton(
        RecordSendOutcomes, uow_factory=uow_factory, clock=clock
    )
    outbound_sender = providers.Singleton(
        OutboundSender,
        claim=claim_outbound_messages,
        record=record_send_outcomes,
        gateways=gateways,
    )
    # Durable jobs: scheduled in the transaction of the change that causes them (or alone,
    # schedule_job), run at least once by the job worker of every process that starts the
    # container. Handlers are registered on job_worker() by kind, in start(), before it starts.
    schedule_job = providers.Singleton(ScheduleJob, uow_factory=uow_factory, clock=clock, ids=ids)
    cancel_jobs = providers.Singleton(CancelJobs, uow_factory=uow_factory, clock=clock)
    claim_due_jobs = providers.Singleton(ClaimDueJobs, uow_factory=uow_factory, clock=clock)
    record_job_outcomes = providers.Singleton(
        RecordJobOutcomes, uow_factory=uow_factory, clock=clock
    )
    job_worker = providers.Singleton(
        JobWorker,
        claim=claim_due_jobs,
        record=record_job_outcomes,
        concurrency=providers.Callable(lambda s: s.job_worker_concurrency, s=settings),
        poll_seconds=providers.Callable(lambda s: float(s.job_poll_seconds), s=settings),
    )
    send_staff_message = providers.Singleton(
        SendStaffMessage,
        uow_factory=uow_factory,
        gateways=gateways,
        media=media_store,
        record_outcomes=record_send_outcomes,
        clock=clock,
        ids=ids,
    )
    update_chat = providers.Singleton(UpdateChat, uow_factory=uow_factory, clock=clock)
    list_chats = providers.Singleton(ListChats, uow_factory=uow_factory)
    get_chat = providers.Singleton(GetChat, uow_factory=uow_factory, clock=clock)
    list_channels = providers.Singleton(ListChannels, uow_factory=uow_factory)
    get_channel = providers.Singleton(GetChannel, uow_factory=uow_factory)
    list_channel_templates = providers.Singleton(ListChannelTemplates, uow_factory=uow_factory)
    get_dashboard = providers.Singleton(GetDashboard, uow_factory=uow_factory, clock=clock)
    create_channel = providers.Singleton(
        CreateChannel, uow_factory=uow_factory, secrets=secret_store, clock=clock, ids=ids
    )
    update_channel = providers.Singleton(
        UpdateChannel, uow_factory=uow_factory, secrets=secret_store, clock=clock, ids=ids
    )
    archive_channel = providers.Singleton(
        ArchiveChannel, uow_factory=uow_factory, secrets=secret_store, clock=clock
    )
    upload_media = providers.Singleton(
        UploadMedia,
        uow_factory=uow_factory,
        media=media_store,
        clock=clock,
        ids=ids,
        max_bytes=providers.Callable(lambda s: s.max_upload_bytes, s=settings),
    )
    get_media = providers.Singleton(
        GetMedia, uow_factory=uow_factory, media=media_store, clock=clock
    )
    # Patients' files: fetched from the channel's provider after the message is committed
    # (in the background, a few at a time), or when someone opens one not kept yet.
    inbound_media_sources = providers.Singleton(
        ProviderMediaSources,
        sources=providers.Dict(
            {
                Provider.CLOUD_API: providers.Singleton(CloudApiMediaSource, media=cloud_api_media),
                Provider.EVOLUTION: providers.Singleton(
                    EvolutionMediaSource, gateway=evolution_gateway
                ),
            }
        ),
    )
    store_inbound_media = providers.Singleton(
        StoreInboundMedia,
        uow_factory=uow_factory,
        media=media_store,
        source=inbound_media_sources,
        clock=clock,
    )
    inbound_media_downloads = providers.Singleton(
        InboundMediaDownloads,
        store=store_inbound_media,
        concurrency=providers.Callable(lambda s: s.inbound_media_downloads, s=settings),
    )
    get_message_media = providers.Singleton(
        GetMessageMedia,
        uow_factory=uow_factory,
        media=media_store,
        store=store_inbound_media,
        clock=clock,
    )
    get_chat_timeline = providers.Singleton(GetChatTimeline, uow_factory=uow_factory, clock=clock)
    list_audit_records = providers.Singleton(ListAuditRecords, uow_factory=uow_factory)
    verify_audit_log = providers.Singleton(VerifyAuditLog, uow_factory=uow_factory)

    # -- customers and clinic settings ------------------------------------------------------
    list_customers = providers.Singleton(ListCustomers, uow_factory=uow_factory)
    get_customer = providers.Singleton(GetCustomer, uow_factory=uow_factory, clock=clock)
    update_customer = providers.Singleton(UpdateCustomer, uow_factory=uow_factory, clock=clock)
    merge_customers = providers.Singleton(MergeCustomers, uow_factory=uow_factory, clock=clock)
    get_clinic = providers.Singleton(GetClinic, uow_factory=uow_factory)
    update_clinic = providers.Singleton(UpdateClinic, uow_factory=uow_factory, clock=clock)

    # -- OpenAI (docs/openai.md) -------------------------------------------------------------
    # Only with settings.openai_api_key (None otherwise: the offline engine answers and voice
    # notes go to a person); closed by stop().
    openai_chat_model = providers.Singleton(build_openai_chat_model, settings=settings)
    openai_transcriber = providers.Singleton(build_openai_transcriber, settings=settings)
    openai_embedder = providers.Singleton(build_openai_embedder, settings=settings)

    # -- Google Calendar (docs/google-calendar.md) --------------------------------------------
    # Only with settings.google_client_id: (oauth, sync) or None, closed by stop(). The busy
    # time of connected calendars feeds the slot search and bookings (None without Google).
    google_calendar = providers.Singleton(
        build_google_calendar_if_configured,
        settings=settings,
        secrets=secret_store,
        clock=clock,
        ids=ids,
    )
    calendar_authorization = providers.Singleton(
        lambda google: google[0] if google else None, google=google_calendar
    )
    calendar_sync = providers.Singleton(
        lambda google: google[1] if google else None, google=google_calendar
    )
    calendar_busy_times = providers.Singleton(
        lambda google, uow_factory, free_busy: (
            CalendarBusyTimes(uow_factory, google[1], free_busy=free_busy) if google else None
        ),
        google=google_calendar,
        uow_factory=uow_factory,
        free_busy=providers.Callable(lambda s: s.google_calendar_free_busy, s=settings),
    )
    start_calendar_connection = providers.Singleton(
        StartCalendarConnection,
        uow_factory=uow_factory,
        authorization=calendar_authorization,
        redirect_uri=providers.Callable(lambda s: s.calendar_redirect_uri, s=settings),
    )
    complete_calendar_connection = providers.Singleton(
        CompleteCalendarConnection,
        uow_factory=uow_factory,
        authorization=calendar_authorization,
        clock=clock,
    )
    disconnect_calendar = providers.Singleton(
        DisconnectCalendar,
        uow_factory=uow_factory,
        authorization=calendar_authorization,
        clock=clock,
    )
    push_appointment_to_calendar = providers.Singleton(
        PushAppointmentToCalendar, uow_factory=uow_factory, sync=calendar_sync, clock=clock
    )
    pull_calendar_changes = providers.Singleton(
        PullCalendarChanges,
        uow_factory=uow_factory,
        sync=calendar_sync,
        clock=clock,
        interval=providers.Callable(
            lambda s: timedelta(minutes=s.calendar_pull_minutes), s=settings
        ),
    )
    list_calendar_connections = providers.Singleton(
        ListCalendarConnections, uow_factory=uow_factory
    )
    get_calendar_feed = providers.Singleton(GetCalendarFeed, uow_factory=uow_factory, clock=clock)

    # -- scheduling -------------------------------------------------------------------------
    # Holidays of each clinic's state and city (pure computation); busy time in connected
    # calendars (calendar_busy_times, None without Google Calendar).
    holiday_calendar = providers.Singleton(BrazilianHolidays)
    create_professional = providers.Singleton(
        CreateProfessional, uow_factory=uow_factory, clock=clock, ids=ids
    )
    update_professional = providers.Singleton(
        UpdateProfessional, uow_factory=uow_factory, clock=clock
    )
    list_professionals = providers.Singleton(ListProfessionals, uow_factory=uow_factory)
    create_appointment_type = providers.Singleton(
        CreateAppointmentType, uow_factory=uow_factory, clock=clock, ids=ids
    )
    update_appointment_type = providers.Singleton(
        UpdateAppointmentType, uow_factory=uow_factory, clock=clock
    )
    list_appointment_types = providers.Singleton(ListAppointmentTypes, uow_factory=uow_factory)
    add_closure = providers.Singleton(AddClosure, uow_factory=uow_factory, clock=clock, ids=ids)
    remove_closure = providers.Singleton(RemoveClosure, uow_factory=uow_factory, clock=clock)
    list_closures = providers.Singleton(ListClosures, uow_factory=uow_factory, clock=clock)
    find_free_slots = providers.Singleton(
        FindFreeSlots,
        uow_factory=uow_factory,
        clock=clock,
        holidays=holiday_calendar,
        busy_times=calendar_busy_times,
    )
    book_appointment = providers.Singleton(
        BookAppointment,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        holidays=holiday_calendar,
        busy_times=calendar_busy_times,
    )
    reschedule_appointment = providers.Singleton(
        RescheduleAppointment,
        uow_factory=uow_factory,
        clock=clock,
        holidays=holiday_calendar,
        busy_times=calendar_busy_times,
    )
    cancel_appointment = providers.Singleton(
        CancelAppointment, uow_factory=uow_factory, clock=clock, holidays=holiday_calendar
    )
    confirm_appointment = providers.Singleton(
        ConfirmAppointment, uow_factory=uow_factory, clock=clock
    )
    mark_attended = providers.Singleton(MarkAttended, uow_factory=uow_factory, clock=clock)
    mark_no_show = providers.Singleton(MarkNoShow, uow_factory=uow_factory, clock=clock)
    join_waitlist = providers.Singleton(JoinWaitlist, uow_factory=uow_factory, clock=clock, ids=ids)
    list_appointments = providers.Singleton(ListAppointments, uow_factory=uow_factory)
    get_appointment = providers.Singleton(GetAppointment, uow_factory=uow_factory, clock=clock)
    book_with_any_professional = providers.Singleton(
        BookWithAnyProfessional, uow_factory=uow_factory, book=book_appointment
    )
    get_agenda = providers.Singleton(GetAgenda, uow_factory=uow_factory, clock=clock)
    get_professional = providers.Singleton(GetProfessional, uow_factory=uow_factory)
    list_waitlist = providers.Singleton(ListWaitlist, uow_factory=uow_factory)

    # -- appointment reminders (pt-BR dates and money by Babel) -------------------------------
    formats = providers.Singleton(BabelFormats)
    plan_appointment_reminders = providers.Singleton(
        PlanAppointmentReminders, uow_factory=uow_factory, clock=clock, ids=ids
    )
    send_appointment_reminder = providers.Singleton(
        SendAppointmentReminder, uow_factory=uow_factory, clock=clock, ids=ids, formats=formats
    )
    answer_appointment_reminder = providers.Singleton(
        AnswerAppointmentReminder,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        formats=formats,
        confirm=confirm_appointment,
        cancel=cancel_appointment,
        reschedule=reschedule_appointment,
        find_slots=find_free_slots,
    )
    send_waitlist_offer = providers.Singleton(
        SendWaitlistOffer, uow_factory=uow_factory, clock=clock, ids=ids, formats=formats
    )
    answer_waitlist_offer = providers.Singleton(
        AnswerWaitlistOffer,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        formats=formats,
        book=book_appointment,
    )
    appointment_reminders = providers.Singleton(
        AppointmentReminders,
        plan=plan_appointment_reminders,
        send=send_appointment_reminder,
        answer=answer_appointment_reminder,
        offer=send_waitlist_offer,
        answer_offer=answer_waitlist_offer,
    )

    # -- charges: the embedded PIX (static BR Codes confirmed by staff) or the clinic's
    # payment gateway (Asaas, Mercado Pago), reconciled by webhooks and polls ----------------
    qr_renderer = providers.Singleton(SegnoQrRenderer)
    payment_gateways = providers.Singleton(ConfiguredPaymentGateways, secrets=secret_store)
    charge_delivery = providers.Singleton(
        ChargeDelivery, ids=ids, formats=formats, media=media_store, qr=qr_renderer
    )
    sync_charge = providers.Singleton(
        SyncCharge,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        gateways=payment_gateways,
        delivery=charge_delivery,
    )
    create_charge = providers.Singleton(
        CreateCharge,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        delivery=charge_delivery,
        sync=sync_charge,
    )
    mark_charge_paid = providers.Singleton(
        MarkChargePaid, uow_factory=uow_factory, clock=clock, ids=ids
    )
    cancel_charge = providers.Singleton(
        CancelCharge,
        uow_factory=uow_factory,
        clock=clock,
        gateways=payment_gateways,
        sync=sync_charge,
    )
    refund_charge = providers.Singleton(RefundCharge, uow_factory=uow_factory, clock=clock, ids=ids)
    expire_charge = providers.Singleton(
        ExpireCharge,
        uow_factory=uow_factory,
        clock=clock,
        gateways=payment_gateways,
        sync=sync_charge,
    )
    confirm_charge_payment = providers.Singleton(
        ConfirmChargePayment, uow_factory=uow_factory, clock=clock, ids=ids, formats=formats
    )
    receive_payment_webhook = providers.Singleton(
        ReceivePaymentWebhook,
        uow_factory=uow_factory,
        gateways=payment_gateways,
        sync=sync_charge,
    )
    configure_payment_gateway = providers.Singleton(
        ConfigurePaymentGateway,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        secrets=secret_store,
    )
    charge_reactions = providers.Singleton(
        ChargeReactions,
        confirm=confirm_charge_payment,
        sync=sync_charge,
        expire=expire_charge,
    )
    get_charge = providers.Singleton(GetCharge, uow_factory=uow_factory)
    list_charges = providers.Singleton(ListCharges, uow_factory=uow_factory)

    # -- knowledge base (docs/knowledge-base.md): Portuguese lexical retrieval, offline -------
    # With OpenAI embeddings (openai_embedder), words and meaning fused; lexical otherwise.
    knowledge_base = providers.Singleton(
        build_knowledge_base, storage=storage, embedder=openai_embedder
    )
    knowledge_vectors = providers.Singleton(vectors_of, knowledge=knowledge_base)
    reindex_knowledge = providers.Singleton(ReindexKnowledge, vectors=knowledge_vectors)
    text_extractor = providers.Singleton(DocumentTextExtractor)
    add_knowledge_document = providers.Singleton(
        AddKnowledgeDocument,
        knowledge=knowledge_base,
        extractor=text_extractor,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
    )
    remove_knowledge_document = providers.Singleton(
        RemoveKnowledgeDocument, knowledge=knowledge_base, uow_factory=uow_factory, clock=clock
    )
    list_knowledge_documents = providers.Singleton(ListKnowledgeDocuments, knowledge=knowledge_base)
    search_knowledge = providers.Singleton(SearchKnowledge, knowledge=knowledge_base)

    # -- the AI receptionist (docs/assistant.md) ------------------------------------------------
    timer = providers.Singleton(PerfCounterTimer)
    offline_engine = providers.Singleton(OfflineEngine)
    chat_models = providers.Singleton(
        ChatModelsByEngine,
        offline=offline_engine,
        openai=openai_chat_model,
        prices=providers.Callable(model_prices, settings=settings),
    )
    assistant_tools = providers.Singleton(
        AssistantTools,
        uow_factory=uow_factory,
        formats=formats,
        find_slots=find_free_slots,
        book=book_with_any_professional,
        reschedule=reschedule_appointment,
        cancel=cancel_appointment,
        create_charge=create_charge,
        update_customer=update_customer,
    )
    assistant_brain = providers.Singleton(
        AssistantBrain,
        uow_factory=uow_factory,
        timer=timer,
        models=chat_models,
        tools=assistant_tools,
        knowledge=knowledge_base,
        formats=formats,
        media=media_store,
        transcriber=openai_transcriber,
    )
    answer_with_assistant = providers.Singleton(
        AnswerWithAssistant, uow_factory=uow_factory, clock=clock, ids=ids, brain=assistant_brain
    )
    try_assistant = providers.Singleton(
        TryAssistant, uow_factory=uow_factory, clock=clock, ids=ids, brain=assistant_brain
    )
    list_assistant_turns = providers.Singleton(ListAssistantTurns, uow_factory=uow_factory)
    create_assistant = providers.Singleton(
        CreateAssistant, uow_factory=uow_factory, clock=clock, ids=ids
    )
    update_assistant = providers.Singleton(UpdateAssistant, uow_factory=uow_factory, clock=clock)
    assistant_reactions = providers.Singleton(
        AssistantReactions,
        answer=answer_with_assistant,
        schedule=schedule_job,
        clock=clock,
        ids=ids,
    )

    # -- accounts and sessions --------------------------------------------------------------
    password_hasher = providers.Singleton(Argon2PasswordHasher)
    secrets = providers.Singleton(UrandomSecrets)
    rotate_calendar_feed_token = providers.Singleton(
        RotateCalendarFeedToken, uow_factory=uow_factory, secrets=secrets, clock=clock
    )
    otp = providers.Singleton(PyOtpPasswords)
    access_tokens = providers.Singleton(
        lambda settings: JwtAccessTokens(
            ensure_jwt_secret(settings), timedelta(minutes=settings.access_token_minutes)
        ),
        settings=settings,
    )
    create_staff_user = providers.Singleton(
        CreateStaffUser, uow_factory=uow_factory, hasher=password_hasher, clock=clock, ids=ids
    )
    log_in = providers.Singleton(
        LogIn,
        uow_factory=uow_factory,
        hasher=password_hasher,
        otp=otp,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    refresh_session = providers.Singleton(
        RefreshSession,
        uow_factory=uow_factory,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    # Firebase Authentication, only when settings.firebase_project_id is set ({} otherwise).
    identity_verifiers = providers.Singleton(build_identity_verifiers, settings=settings)
    log_in_with_identity_provider = providers.Singleton(
        LogInWithIdentityProvider,
        uow_factory=uow_factory,
        verifiers=identity_verifiers,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    log_out = providers.Singleton(LogOut, uow_factory=uow_factory, clock=clock)
    get_staff_user = providers.Singleton(GetStaffUser, uow_factory=uow_factory)
    list_staff_users = providers.Singleton(ListStaffUsers, uow_factory=uow_factory)
    invite_staff_user = providers.Singleton(
        InviteStaffUser, uow_factory=uow_factory, secrets=secrets, clock=clock, ids=ids
    )
    accept_invitation = providers.Singleton(
        AcceptInvitation,
        uow_factory=uow_factory,
        hasher=password_hasher,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    issue_password_reset = providers.Singleton(
        IssuePasswordReset, uow_factory=uow_factory, secrets=secrets, clock=clock, ids=ids
    )
    reset_password = providers.Singleton(
        ResetPassword, uow_factory=uow_factory, hasher=password_hasher, clock=clock
    )
    change_password = providers.Singleton(
        ChangePassword,
        uow_factory=uow_factory,
        hasher=password_hasher,
        access_tokens=access_tokens,
        secrets=secrets,
        clock=clock,
        ids=ids,
    )
    update_staff_user = providers.Singleton(UpdateStaffUser, uow_factory=uow_factory, clock=clock)
    start_mfa_enrolment = providers.Singleton(
        StartMfaEnrolment, uow_factory=uow_factory, otp=otp, clock=clock
    )
    confirm_mfa_enrolment = providers.Singleton(
        ConfirmMfaEnrolment, uow_factory=uow_factory, otp=otp, secrets=secrets, clock=clock
    )
    turn_off_mfa = providers.Singleton(
        TurnOffMfa, uow_factory=uow_factory, hasher=password_hasher, clock=clock
    )
    regenerate_recovery_codes = providers.Singleton(
        RegenerateRecoveryCodes,
        uow_factory=uow_factory,
        hasher=password_hasher,
        secrets=secrets,
        clock=clock,
    )


def create_container(settings: Settings) -> Container:
    """A container for ``settings``."""
    return Container(settings=settings)


async def start(container: Container) -> None:
    """Open storage, start dispatching events (the ones left by a previous run first),
    sending the outbox's due messages, running due jobs and watching Evolution numbers'
    health."""
    storage = container.storage()
    await storage.open()
    dispatcher = container.dispatcher()
    storage.uow_factory.on_commit = dispatcher.committed
    sender = container.outbound_sender()
    dispatcher.subscribe(MessageCreated, sender.on_event)
    container.inbound_media_downloads().attach(dispatcher)
    container.appointment_reminders().attach(dispatcher, container.job_worker())
    container.charge_reactions().attach(dispatcher, container.job_worker())
    container.assistant_reactions().attach(dispatcher, container.job_worker())
    worker = container.job_worker()
    handlers = calendar_job_handlers(
        container.push_appointment_to_calendar(), container.pull_calendar_changes()
    )
    for kind, handler in handlers.items():
        if kind not in worker.kinds:
            worker.register(kind, handler)
    await dispatcher.start()
    await sender.start()
    await container.job_worker().start()
    await container.evolution_health_monitor().start()


async def stop(container: Container) -> None:
    """Finish the jobs and sends in flight and the dispatching, close storage and the Redis
    client."""
    await container.evolution_health_monitor().stop()
    await container.job_worker().stop()
    await container.outbound_sender().stop()
    await container.dispatcher().stop()
    await container.inbound_media_downloads().stop()
    await container.storage().close()
    await container.graph_client().aclose()
    await container.payment_gateways().aclose()
    google = container.google_calendar()
    if google is not None:
        for client in reversed(google):
            await client.aclose()
    redis = container.redis()
    if redis is not None:
        await redis.aclose()
    for openai_client in (
        container.openai_chat_model(),
        container.openai_transcriber(),
        container.openai_embedder(),
    ):
        if openai_client is not None:
            await openai_client.aclose()
