"""Issue a charge (cobrança) to a patient and deliver its PIX code in their chat."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.channel import Provider
from porfin_core.domain.charges import Charge, txid_for
from porfin_core.domain.chat import Chat
from porfin_core.domain.customer import Customer, first_name
from porfin_core.domain.media import MediaKind, StoredMedia
from porfin_core.domain.message import MediaRef, Message, MessageKind
from porfin_core.domain.pix import generate_static_br_code
from porfin_core.errors import ValidationError
from porfin_core.ports.charges import QrRenderer
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.media import MediaStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import charge_audit
from porfin_core.use_cases._outbound import patient_chat, queue_message
from porfin_core.use_cases._transaction import transact

NO_PIX_KEY = (
    "the clinic has no PIX key: set pix_key (and the merchant name and city, or the clinic's "
    "city) in the clinic's settings before issuing charges"
)


@attrs.frozen(kw_only=True)
class NewCharge:
    """A charge to issue.

    Attributes:
        clinic_id: The clinic that charges.
        customer_id: The patient who pays.
        amount_cents: What is due, in centavos (at least 1).
        description: What it is for (1 to 140 characters), shown to the patient.
        due_date: The day it is due, if any.
        expires_at: When it expires unpaid, if ever (timezone-aware, in the future).
        appointment_id: The patient's appointment it secures (a deposit), if any.
        chat_id: The chat to deliver it in (default: the patient's most recent chat).
        deliver: Send the PIX code in the patient's chat (default) or only issue it.
        actor: Who asks and from where (default: Porfin itself).
    """

    clinic_id: str
    customer_id: str
    amount_cents: int
    description: str
    due_date: date | None = None
    expires_at: datetime | None = None
    appointment_id: str | None = None
    chat_id: str | None = None
    deliver: bool = True
    actor: Actor | None = None


@attrs.frozen
class IssuedCharge:
    """The charge as stored, and the messages queued to deliver it ([] when not delivered:
    asked not to, the patient has no chat on an active channel, or their WhatsApp 24-hour
    window is closed)."""

    charge: Charge
    messages: list[Message]


@attrs.define(kw_only=True)
class CreateCharge:
    """Issue a charge with the embedded provider: a static PIX BR Code ("copia e cola") for
    the clinic's PIX key, carrying the amount and a txid made from the charge's id.

    In the same transaction the code is queued in the patient's chat: a text with the amount
    ("R$ 150,00") and the code to copy, then the QR code as an image (a PNG kept in the media
    store). Staff confirm the payment later (``MarkChargePaid``). Event ``charge.created``;
    audit record ``charge.create``.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    formats: Formats
    media: MediaStore
    qr: QrRenderer

    async def __call__(self, command: NewCharge) -> IssuedCharge:
        """Issue and deliver the charge.

        Raises:
            NotFound: no such customer (or appointment) in the clinic.
            ValidationError: the clinic has no PIX key or receiver (``pix_key``), an amount
                out of range (``amount_cents``), a blank or long description
                (``description``), an expiry not in the future (``expires_at``), an
                appointment of another patient (``appointment_id``).
        """
        actor = actor_of(command.actor)
        charge_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> IssuedCharge:
            now = self.clock.now()
            clinic = await uow.clinics.get(command.clinic_id)
            receiver = clinic.pix_receiver()
            if receiver is None:
                raise ValidationError(NO_PIX_KEY, field="pix_key")
            customer = await uow.customers.get(command.clinic_id, command.customer_id)
            if command.appointment_id is not None:
                appointment = await uow.appointments.get(command.clinic_id, command.appointment_id)
                if appointment.customer_id != customer.id:
                    raise ValidationError(
                        "the appointment is another patient's", field="appointment_id"
                    )
            charge = Charge.issue(
                id=charge_id,
                clinic_id=clinic.id,
                customer_id=customer.id,
                amount_cents=command.amount_cents,
                description=command.description,
                now=now,
                by=actor.id,
                due_date=command.due_date,
                expires_at=command.expires_at,
                appointment_id=command.appointment_id,
            )
            key, name, city = receiver
            txid = txid_for(charge.id)
            charge.attach_pix(
                generate_static_br_code(
                    key=key,
                    merchant_name=name,
                    merchant_city=city,
                    amount_cents=charge.amount_cents,
                    txid=txid,
                ),
                txid,
            )
            messages: list[Message] = []
            chat = None
            if command.deliver:
                chat = await patient_chat(uow, clinic.id, customer.id, command.chat_id)
            if chat is not None and await _may_write(uow, chat, now):
                charge.delivered_in(chat.id)
                messages = await self._deliver(uow, charge, chat, customer, now)
            await uow.charges.save(charge)
            details = {"delivered": "yes" if messages else "no"}
            await uow.audit.append(
                charge_audit(actor, charge, now, AuditAction.CHARGE_CREATE, details)
            )
            uow.record(charge.pull_events())
            await uow.commit()
            return IssuedCharge(charge, messages)

        return await transact(self.uow_factory, work)

    async def _deliver(
        self,
        uow: UnitOfWork,
        charge: Charge,
        chat: Chat,
        customer: Customer,
        now: datetime,
    ) -> list[Message]:
        """Queue the text with the code, then its QR image (stored first; a retried
        transaction stores it again under a new id, the file of the failed try unused)."""
        assert charge.br_code is not None
        amount = self.formats.money(charge.amount_cents)
        name = first_name(customer.name)
        due = f"\nVencimento: {charge.due_date:%d/%m/%Y}." if charge.due_date else ""
        text = (
            f"{f'Olá, {name}!' if name else 'Olá!'} Segue a cobrança de {amount} "
            f"({charge.description}).{due}\n\n"
            f"Pague com o PIX copia e cola abaixo ou pelo QR code da próxima mensagem:\n\n"
            f"{charge.br_code}"
        )
        extra = {"charge_id": charge.id}
        png = self.qr.png(charge.br_code)
        stored = StoredMedia(
            id=self.ids.new_id(),
            clinic_id=charge.clinic_id,
            kind=MediaKind.IMAGE,
            mime_type="image/png",
            size=len(png),
            sha256=hashlib.sha256(png).hexdigest(),
            filename=f"pix-{charge.txid}.png",
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
        queued = [
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
        return queued


async def _may_write(uow: UnitOfWork, chat: Chat, now: datetime) -> bool:
    """Free text reaches the patient: on a bridge always, on the Cloud API inside the 24-hour
    window only (a charge is no approved template)."""
    channel = await uow.channels.get(chat.channel_id)
    return channel.provider is not Provider.CLOUD_API or chat.window_open(now)
