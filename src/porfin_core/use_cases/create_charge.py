"""Issue a charge (cobrança) to a patient and deliver its PIX code in their chat."""

from __future__ import annotations

from datetime import date, datetime

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.charges import Charge, txid_for
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.jobs import Job
from porfin_core.domain.message import Message
from porfin_core.domain.payment_gateway import PAYER_DATA, PAYMENT_LINKS, GatewayProvider
from porfin_core.domain.pix import generate_static_br_code
from porfin_core.errors import GatewayError, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import (
    EXPIRE_JOB,
    ChargeDelivery,
    charge_audit,
    may_write,
    schedule_sync,
)
from porfin_core.use_cases._jobs import schedule_in
from porfin_core.use_cases._outbound import patient_chat
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.sync_charge import ChargeSync, SyncCharge

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
        payer_document: The patient's CPF or CNPJ (required by Asaas).
        payer_email: The patient's e-mail (required by Mercado Pago).
        payment_link: Charge through the gateway's payment link (Asaas): the patient gets a
            page where they choose PIX, boleto or card, instead of a PIX code (and the
            gateway needs none of their data: they type it on the page).
        max_installments: With ``payment_link``, the most card instalments offered (1-12).
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
    payer_document: str | None = None
    payer_email: str | None = None
    payment_link: bool = False
    max_installments: int = 1
    actor: Actor | None = None


@attrs.frozen
class IssuedCharge:
    """The charge as stored, and the messages queued to deliver it ([] when not delivered:
    asked not to, the patient has no chat on an active channel, their WhatsApp 24-hour
    window is closed, or the gateway has not created the charge yet: Porfin keeps trying and
    delivers it then)."""

    charge: Charge
    messages: list[Message]


@attrs.define(kw_only=True)
class CreateCharge:
    """Issue a charge: with the embedded provider, a static PIX BR Code ("copia e cola") for
    the clinic's PIX key, carrying the amount and a txid made from the charge's id; with the
    clinic's payment gateway (Asaas, Mercado Pago), the gateway's charge and its PIX code.

    Embedded: in the same transaction the code is queued in the patient's chat (a text with
    the amount, "R$ 150,00", and the code to copy, then the QR code as an image); staff
    confirm the payment later (``MarkChargePaid``).

    Gateway: the charge is stored first, with a ``charge.sync`` job, and then created at the
    gateway (``SyncCharge``), which delivers the code in the chat. If the gateway cannot be
    reached the charge stays pending without a code and the job keeps trying; once created,
    the same job polls the gateway in case its webhook is missed.

    Payment link (``payment_link``, Asaas): the gateway makes a page where the patient chooses
    PIX, boleto or card (up to ``max_installments`` card instalments); the chat gets one text
    with the page instead of the code and its QR.

    A charge with an expiry gets a ``charge.expire`` job. Event ``charge.created``; audit
    record ``charge.create``.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    delivery: ChargeDelivery
    sync: SyncCharge

    async def __call__(self, command: NewCharge) -> IssuedCharge:
        """Issue and deliver the charge.

        Raises:
            NotFound: no such customer (or appointment) in the clinic.
            ValidationError: the clinic has no PIX key or receiver (``pix_key``) and no
                gateway, an amount out of range (``amount_cents``), a blank or long
                description (``description``), an expiry not in the future (``expires_at``),
                an appointment of another patient (``appointment_id``), payer data the
                gateway needs missing (``payer_document``, ``payer_email``) or refused by it,
                a payment link the clinic's gateway does not make (``payment_link``),
                instalments out of range or without a link (``max_installments``).
        """
        actor = actor_of(command.actor)
        charge_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> IssuedCharge:
            now = self.clock.now()
            clinic = await uow.clinics.get(command.clinic_id)
            customer = await uow.customers.get(command.clinic_id, command.customer_id)
            if command.appointment_id is not None:
                appointment = await uow.appointments.get(command.clinic_id, command.appointment_id)
                if appointment.customer_id != customer.id:
                    raise ValidationError(
                        "the appointment is another patient's", field="appointment_id"
                    )
            gateway = clinic.payment_gateway
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
                provider=gateway.provider.value if gateway else "embedded",
                as_link=command.payment_link,
                max_installments=command.max_installments,
            )
            chat = None
            if command.deliver:
                chat = await patient_chat(uow, clinic.id, customer.id, command.chat_id)
            writable = chat is not None and await may_write(uow, chat, now)
            messages: list[Message] = []
            if gateway is None:
                _attach_static_pix(clinic, charge)
                if chat is not None and writable:
                    charge.delivered_in(chat.id)
                    messages = await self.delivery(uow, charge, chat, customer, now)
            else:
                _take_payer_data(charge, command)
                if chat is not None and writable:
                    charge.delivered_in(chat.id)  # once the gateway made the code
                await schedule_sync(uow, charge, 0, now, self.ids)
            if charge.expires_at is not None:
                await schedule_in(uow, _expiry_job(charge, self.ids.new_id(), now))
            await uow.charges.save(charge)
            details = {"delivered": "yes" if messages else "no", "provider": charge.provider}
            await uow.audit.append(
                charge_audit(actor, charge, now, AuditAction.CHARGE_CREATE, details)
            )
            uow.record(charge.pull_events())
            await uow.commit()
            return IssuedCharge(charge, messages)

        issued = await transact(self.uow_factory, work)
        if not issued.charge.via_gateway:
            return issued
        try:
            charge = await self.sync(
                ChargeSync(
                    clinic_id=issued.charge.clinic_id,
                    charge_id=issued.charge.id,
                    source="issue",
                    actor=command.actor,
                )
            )
        except GatewayError as exc:
            if not exc.retryable:
                raise
            return issued  # the charge.sync job tries again
        return IssuedCharge(charge, await self._messages(charge))

    async def _messages(self, charge: Charge) -> list[Message]:
        """The messages that delivered ``charge`` (sync queued them in its transaction)."""
        if charge.chat_id is None:
            return []
        async with self.uow_factory(read_only=True) as uow:
            recent = await uow.messages.list_for_chat(charge.clinic_id, charge.chat_id, limit=10)
        return sorted(
            (m for m in recent.items if m.extra.get("charge_id") == charge.id),
            key=lambda m: (m.created_at, m.id),
        )


def _attach_static_pix(clinic: Clinic, charge: Charge) -> None:
    """Give ``charge`` the static BR Code of the clinic's PIX key.

    Raises:
        ValidationError: the clinic has no PIX key or receiver (``pix_key``).
    """
    receiver = clinic.pix_receiver()
    if receiver is None:
        raise ValidationError(NO_PIX_KEY, field="pix_key")
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


def _take_payer_data(charge: Charge, command: NewCharge) -> None:
    """Keep the payer's document and e-mail the gateway needs on the charge (a payment link
    needs neither).

    Raises:
        ValidationError: one the gateway needs is missing (field: its name), or the gateway
            makes no payment links (``payment_link``).
    """
    document = "".join(ch for ch in (command.payer_document or "") if ch.isalnum()).upper()
    email = (command.payer_email or "").strip()
    charge.payer_document = document or None
    charge.payer_email = email or None
    if len(document) > 14 or len(email) > 254 or (email and "@" not in email):
        field = "payer_document" if len(document) > 14 else "payer_email"
        raise ValidationError(f"{field} is not valid", field=field)
    provider = GatewayProvider(charge.provider)
    if charge.as_link:
        if provider not in PAYMENT_LINKS:
            raise ValidationError(
                f"payment links are an Asaas feature: {charge.provider} makes none",
                field="payment_link",
            )
        return  # the patient types their data on the link's page
    for field in PAYER_DATA.get(provider, ()):
        if getattr(charge, field) is None:
            what = "CPF or CNPJ" if field == "payer_document" else "e-mail"
            raise ValidationError(
                f"{charge.provider} needs the patient's {what} ({field})", field=field
            )


def _expiry_job(charge: Charge, job_id: str, now: datetime) -> Job:
    assert charge.expires_at is not None
    return Job.new(
        id=job_id,
        clinic_id=charge.clinic_id,
        kind=EXPIRE_JOB,
        payload={"charge_id": charge.id},
        run_at=charge.expires_at,
        idempotency_key=f"{EXPIRE_JOB}:{charge.id}",
        subject=f"charge:{charge.id}",
        now=now,
    )
