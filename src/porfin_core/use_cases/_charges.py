"""What the charge use cases share: the audit record, delivery of a PIX code in the chat, the
job that keeps a gateway's charge in step, and money movements."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.channel import Provider
from porfin_core.domain.charges import Charge, Transaction, TransactionKind
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, first_name
from porfin_core.domain.jobs import Job
from porfin_core.domain.media import MediaKind, StoredMedia
from porfin_core.domain.message import MediaRef, Message, MessageKind
from porfin_core.ports.charges import QrRenderer
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.media import MediaStore
from porfin_core.ports.payments import PaymentGateway, PaymentGateways
from porfin_core.ports.storage import UnitOfWork
from porfin_core.use_cases._jobs import schedule_in
from porfin_core.use_cases._outbound import queue_message

SYNC_JOB = "charge.sync"
"""Job kind: create a gateway's charge Porfin could not create yet, or ask the gateway about
a pending one (a webhook may have been missed)."""

EXPIRE_JOB = "charge.expire"
"""Job kind: expire a charge still pending at its ``expires_at``."""

SYNC_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
"""When a gateway's pending charge is looked at again after it was issued: then every
:data:`SYNC_EVERY` until it is paid or over (at most :data:`SYNC_FOR` after issue)."""

SYNC_EVERY = timedelta(hours=12)
SYNC_FOR = timedelta(days=35)


def charge_audit(
    actor: Actor,
    charge: Charge,
    at: datetime,
    action: AuditAction,
    details: dict[str, str] | None = None,
) -> AuditEntry:
    """The audit record of ``action`` on ``charge`` (customer, amount and status included)."""
    return AuditEntry.of(
        actor,
        clinic_id=charge.clinic_id,
        at=at,
        action=action,
        resource_type="charge",
        resource_id=charge.id,
        details={
            "customer_id": charge.customer_id,
            "amount_cents": str(charge.amount_cents),
            "paid_cents": str(charge.paid_cents),
            "status": charge.status.value,
        }
        | (details or {}),
    )


async def gateway_of(
    gateways: PaymentGateways, clinic: Clinic, charge: Charge
) -> PaymentGateway | None:
    """The gateway holding ``charge``: the clinic's account, while it is still the charge's
    provider; None for an embedded charge or when the clinic changed gateways since."""
    config = clinic.payment_gateway
    if config is None or config.provider.value != charge.provider:
        return None
    return await gateways.gateway(clinic.id, config)


async def may_write(uow: UnitOfWork, chat: Chat, now: datetime) -> bool:
    """Free text reaches the patient: on a bridge always, on the Cloud API inside the 24-hour
    window only (a charge is no approved template)."""
    channel = await uow.channels.get(chat.channel_id)
    return channel.provider is not Provider.CLOUD_API or chat.window_open(now)


@attrs.frozen(kw_only=True)
class ChargeDelivery:
    """What delivering a PIX code (or a gateway's payment link) in a chat needs."""

    ids: IdGenerator
    formats: Formats
    media: MediaStore
    qr: QrRenderer

    async def __call__(
        self, uow: UnitOfWork, charge: Charge, chat: Chat, customer: Customer, now: datetime
    ) -> list[Message]:
        """Queue the text with the code (and the gateway's payment page, if any), then its QR
        image (stored first; a retried transaction stores it again under a new id, the file of
        the failed try unused). A charge without a code (a payment link) gets one text with
        its page."""
        amount = self.formats.money(charge.amount_cents)
        name = first_name(customer.name)
        due = f"\nVencimento: {charge.due_date:%d/%m/%Y}." if charge.due_date else ""
        greeting = (
            f"{f'Olá, {name}!' if name else 'Olá!'} Segue a cobrança de {amount} "
            f"({charge.description}).{due}\n\n"
        )
        extra = {"charge_id": charge.id}
        if charge.br_code is None:
            assert charge.payment_url is not None
            ways = "PIX, boleto ou cartão"
            if charge.max_installments > 1:
                ways += f" em até {charge.max_installments}x"
            return [
                await queue_message(
                    uow,
                    chat=chat,
                    customer=customer,
                    kind=MessageKind.TEXT,
                    body=f"{greeting}Pague por aqui ({ways}): {charge.payment_url}",
                    extra=extra,
                    now=now,
                    ids=self.ids,
                )
            ]
        link = f"\n\nOu pague por aqui: {charge.payment_url}" if charge.payment_url else ""
        text = (
            f"{greeting}Pague com o PIX copia e cola abaixo ou pelo QR code da próxima "
            f"mensagem:\n\n{charge.br_code}{link}"
        )
        png = self.qr.png(charge.br_code)
        stored = StoredMedia(
            id=self.ids.new_id(),
            clinic_id=charge.clinic_id,
            kind=MediaKind.IMAGE,
            mime_type="image/png",
            size=len(png),
            sha256=hashlib.sha256(png).hexdigest(),
            filename=f"pix-{charge.txid or charge.id}.png",
            created_at=now,
        )
        await self.media.put(stored, png)
        caption = f"QR code PIX: {amount}"
        image = MediaRef(
            mime_type=stored.mime_type,
            filename=stored.filename,
            caption=caption,
            sha256=stored.sha256,
            size=stored.size,
            stored_path=stored.id,
        )
        return [
            await queue_message(
                uow,
                chat=chat,
                customer=customer,
                kind=kind,
                body=body,
                extra=extra,
                now=now,
                ids=self.ids,
                media=media,
            )
            for kind, body, media in (
                (MessageKind.TEXT, text, None),
                (MessageKind.IMAGE, caption, image),
            )
        ]


async def schedule_sync(
    uow: UnitOfWork, charge: Charge, attempt: int, now: datetime, ids: IdGenerator
) -> bool:
    """Schedule the ``attempt``-th look at a gateway's charge (0: the first, a minute after
    issue); False when it is too late to keep looking."""
    delay = SYNC_DELAYS[attempt] if attempt < len(SYNC_DELAYS) else SYNC_EVERY
    run_at = now + delay
    if run_at > charge.created_at + SYNC_FOR:
        return False
    await schedule_in(
        uow,
        Job.new(
            id=ids.new_id(),
            clinic_id=charge.clinic_id,
            kind=SYNC_JOB,
            payload={"charge_id": charge.id, "attempt": attempt},
            run_at=run_at,
            idempotency_key=f"{SYNC_JOB}:{charge.id}:{attempt}",
            subject=f"charge:{charge.id}",
            now=now,
        ),
    )
    return True


async def log_moves(
    uow: UnitOfWork,
    charge: Charge,
    moves: list[tuple[TransactionKind, int]],
    *,
    at: datetime,
    by: str,
    source: str,
    reference: str | None,
    ids: IdGenerator,
) -> list[Transaction]:
    """Append one transaction per money movement of ``charge`` to the log."""
    logged = []
    for kind, amount in moves:
        transaction = Transaction(
            id=ids.new_id(),
            clinic_id=charge.clinic_id,
            charge_id=charge.id,
            kind=kind,
            amount_cents=amount,
            at=at,
            by=by,
            source=source,
            reference=reference,
        )
        await uow.transactions.append(transaction)
        logged.append(transaction)
    return logged
