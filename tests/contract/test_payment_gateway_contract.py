"""The payment gateway contract: the memory gateway, Asaas (against its fake API) and Mercado
Pago (against its fake API) create charges idempotently with a PIX code for the amount, report
payments, cancel only what is pending, and read a webhook only when it is signed with the
account's secret. A memory gateway that passes the same suite as the real adapters is one the
use-case tests and the BDD features can trust."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import date
from typing import Protocol

import attrs
import pytest

from porfin_adapters.asaas import AsaasGateway
from porfin_adapters.memory.payments import TOKEN_HEADER, MemoryPaymentGateway
from porfin_adapters.mercadopago.gateway import MercadoPagoGateway
from porfin_core.domain.pix import parse_br_code
from porfin_core.errors import (
    GatewayError,
    InvalidCredentials,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.payments import (
    ChargeRequest,
    GatewayChargeStatus,
    PaymentGateway,
)
from tests.fakes.asaas_api import API_KEY, AsaasApiFake
from tests.fakes.mercadopago_api import (
    TOKEN,
    WEBHOOK_SECRET,
    MercadoPagoFake,
    signed_notification,
)

ASAAS_WEBHOOK_TOKEN = "asaas-contract-webhook-token"
MEMORY_WEBHOOK_TOKEN = "memory-contract-token"

Call = tuple[dict[str, str], bytes, Mapping[str, str] | None]
"""A webhook call: headers, body, the URL's query."""


class Harness(Protocol):
    """What the contract needs besides the gateway: the provider's side of things."""

    gateway: PaymentGateway
    unknown_id: str
    """A well-formed id of a charge the provider does not have."""
    makes_links: bool
    """The provider makes payment links (``ChargeRequest.as_link``)."""

    def pay(self, provider_charge_id: str) -> None:
        """The patient pays the whole charge at the provider."""

    def charges_for(self, charge_id: str) -> int:
        """How many charges the provider holds for Porfin's ``charge_id``."""

    def fail_next_call(self) -> None:
        """The provider's next answer is a transient failure (nothing is created)."""

    def expire(self, provider_charge_id: str) -> None:
        """The charge's PIX code lapses unpaid at the provider."""

    def webhook(self, provider_charge_id: str, event_id: str) -> Call:
        """A webhook call about the charge, signed as the provider signs it."""

    def forged_webhook(self, provider_charge_id: str) -> Call:
        """The same call, signed with another secret."""

    def signed_garbage(self) -> Call:
        """A call signed with the account's secret whose body is no webhook at all."""

    async def aclose(self) -> None:
        """Close the gateway's connections."""


class MemoryHarness:
    def __init__(self) -> None:
        self.gateway = MemoryPaymentGateway(webhook_token=MEMORY_WEBHOOK_TOKEN)
        self.unknown_id = "mem_999999"
        self.makes_links = True

    def pay(self, provider_charge_id: str) -> None:
        self.gateway.pay(provider_charge_id)

    def charges_for(self, charge_id: str) -> int:
        # A second charge for one reference would replace the first in ``by_reference``:
        # count every charge the other references do not account for.
        others = {p for ref, p in self.gateway.by_reference.items() if ref != charge_id}
        return sum(1 for p in self.gateway.charges if p not in others)

    def fail_next_call(self) -> None:
        self.gateway.fail_next()

    def expire(self, provider_charge_id: str) -> None:
        self.gateway.set_status(provider_charge_id, GatewayChargeStatus.EXPIRED)

    def webhook(self, provider_charge_id: str, event_id: str) -> Call:
        headers, body = self.gateway.webhook(provider_charge_id, event_id)
        return headers, body, None

    def forged_webhook(self, provider_charge_id: str) -> Call:
        forger = MemoryPaymentGateway(webhook_token="another-secret", charges=self.gateway.charges)
        headers, body = forger.webhook(provider_charge_id, "evt_forged")
        return headers, body, None

    def signed_garbage(self) -> Call:
        body = b"not json"
        digest = hmac.new(MEMORY_WEBHOOK_TOKEN.encode(), body, hashlib.sha256).hexdigest()
        return {TOKEN_HEADER: digest}, body, None

    async def aclose(self) -> None:
        await self.gateway.aclose()


class AsaasHarness:
    def __init__(self, fake: AsaasApiFake) -> None:
        self.fake = fake
        self.gateway = AsaasGateway(
            api_key=API_KEY,
            webhook_token=ASAAS_WEBHOOK_TOKEN,
            base_url=f"{fake.url}/v3",
            timeout=5,
        )
        self.unknown_id = "pay_999999999999"
        self.makes_links = True

    def pay(self, provider_charge_id: str) -> None:
        if provider_charge_id.startswith("link:"):
            self.fake.pay_link(provider_charge_id.removeprefix("link:"))
            return
        self.fake.confirm(provider_charge_id)

    def charges_for(self, charge_id: str) -> int:
        return len(self.fake.payments_for(charge_id))

    def fail_next_call(self) -> None:
        self.fake.fail_next("500")

    def expire(self, provider_charge_id: str) -> None:
        # Asaas marks an unpaid payment OVERDUE after its due date; the fake has no action.
        self.fake.payments[provider_charge_id]["status"] = "OVERDUE"

    def webhook(self, provider_charge_id: str, event_id: str) -> Call:
        body = self.fake.webhook_body("PAYMENT_RECEIVED", provider_charge_id, event_id=event_id)
        return {"asaas-access-token": ASAAS_WEBHOOK_TOKEN}, body, None

    def forged_webhook(self, provider_charge_id: str) -> Call:
        _, body, _ = self.webhook(provider_charge_id, "evt_forged")
        return {"asaas-access-token": "another-secret"}, body, None

    def signed_garbage(self) -> Call:
        return {"asaas-access-token": ASAAS_WEBHOOK_TOKEN}, b"not json", None

    async def aclose(self) -> None:
        await self.gateway.aclose()


class MercadoPagoHarness:
    def __init__(self, fake: MercadoPagoFake) -> None:
        self.fake = fake
        self.gateway = MercadoPagoGateway(TOKEN, WEBHOOK_SECRET, base_url=fake.url, timeout=5)
        self.unknown_id = "999"
        self.makes_links = False

    def pay(self, provider_charge_id: str) -> None:
        self.fake.approve(provider_charge_id)

    def charges_for(self, charge_id: str) -> int:
        return sum(
            1 for p in self.fake.payments.values() if p.get("external_reference") == charge_id
        )

    def fail_next_call(self) -> None:
        self.fake.fail_next("500")

    def expire(self, provider_charge_id: str) -> None:
        self.fake.expire(provider_charge_id)

    def webhook(self, provider_charge_id: str, event_id: str) -> Call:
        # Mercado Pago's notification ids are numbers.
        number = int("".join(ch for ch in event_id if ch.isdigit()) or "1")
        return signed_notification(provider_charge_id, event_id=number)

    def forged_webhook(self, provider_charge_id: str) -> Call:
        return signed_notification(provider_charge_id, secret="another-secret")

    def signed_garbage(self) -> Call:
        headers, _, query = signed_notification("2345678901")
        return headers, b"not json", query

    async def aclose(self) -> None:
        await self.gateway.aclose()


@pytest.fixture(scope="module")
def asaas_server() -> Iterator[AsaasApiFake]:
    with AsaasApiFake.serving() as fake:
        yield fake


@pytest.fixture(scope="module")
def mercadopago_server() -> Iterator[MercadoPagoFake]:
    with MercadoPagoFake.serving() as fake:
        yield fake


@pytest.fixture(params=["memory", "asaas", "mercadopago"])
async def harness(request) -> AsyncIterator[Harness]:
    made: Harness
    if request.param == "memory":
        made = MemoryHarness()
    elif request.param == "asaas":
        fake = request.getfixturevalue("asaas_server")
        fake.reset()
        made = AsaasHarness(fake)
    else:
        fake = request.getfixturevalue("mercadopago_server")
        fake.reset()
        made = MercadoPagoHarness(fake)
    yield made
    await made.aclose()


def _request(charge_id: str = "chg_0001", amount_cents: int = 15090) -> ChargeRequest:
    """A PIX charge with every payer datum some gateway needs (Asaas: CPF; Mercado Pago:
    e-mail)."""
    return ChargeRequest(
        charge_id=charge_id,
        clinic_id="clinic1",
        amount_cents=amount_cents,
        description="Sinal da consulta de 02/12 com Dra. Ana",
        due_date=date(2026, 12, 1),
        payer_name="Maria da Silva Souza",
        payer_email="maria@example.com",
        payer_phone="+5511987654321",
        payer_document="249.715.637-92",
    )


# -- creating ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount_cents", [15090, 15000, 1])
async def test_a_created_charge_is_pending_with_a_pix_code_for_its_amount(harness, amount_cents):
    created = await harness.gateway.create_charge(_request(amount_cents=amount_cents))

    assert created.provider_charge_id
    assert created.status is GatewayChargeStatus.PENDING
    assert (created.amount_cents, created.paid_cents) == (amount_cents, 0)
    assert created.pix_copy_paste is not None
    code = parse_br_code(created.pix_copy_paste)  # raises on a bad CRC, length or field
    assert code.amount_cents == amount_cents


@pytest.mark.parametrize("amount_cents", [0, -100])
async def test_a_charge_for_nothing_is_refused_and_not_made(harness, amount_cents):
    with pytest.raises(ValidationError):
        await harness.gateway.create_charge(_request("chg_zero", amount_cents=amount_cents))
    assert harness.charges_for("chg_zero") == 0


async def test_creating_twice_with_one_charge_id_makes_one_charge(harness):
    first = await harness.gateway.create_charge(_request("chg_twice"))
    again = await harness.gateway.create_charge(_request("chg_twice"))
    other = await harness.gateway.create_charge(_request("chg_other"))

    assert again.provider_charge_id == first.provider_charge_id
    assert again.pix_copy_paste == first.pix_copy_paste
    assert other.provider_charge_id != first.provider_charge_id
    assert harness.charges_for("chg_twice") == 1
    assert harness.charges_for("chg_other") == 1


async def test_a_create_that_failed_is_retryable_and_its_retry_makes_one_charge(harness):
    harness.fail_next_call()
    with pytest.raises(GatewayError) as failed:
        await harness.gateway.create_charge(_request("chg_retry"))
    assert failed.value.retryable

    retried = await harness.gateway.create_charge(_request("chg_retry"))
    again = await harness.gateway.create_charge(_request("chg_retry"))

    assert retried.provider_charge_id == again.provider_charge_id
    assert harness.charges_for("chg_retry") == 1


async def test_a_payment_link_is_made_once_and_paid_or_refused_as_no_feature(harness):
    request = attrs.evolve(_request("chg_link"), as_link=True, max_installments=3)
    if not harness.makes_links:
        with pytest.raises(ValidationError) as refused:
            await harness.gateway.create_charge(request)
        assert refused.value.fields["field"] == "payment_link"
        assert harness.charges_for("chg_link") == 0
        return
    made = await harness.gateway.create_charge(request)
    again = await harness.gateway.create_charge(request)
    assert made.provider_charge_id.startswith("link:")
    assert again.provider_charge_id == made.provider_charge_id
    assert (made.status, made.amount_cents, made.pix_copy_paste) == (
        GatewayChargeStatus.PENDING,
        15090,
        None,
    )
    assert made.payment_url
    harness.pay(made.provider_charge_id)
    paid = await harness.gateway.get_charge(made.provider_charge_id)
    assert (paid.status, paid.paid_cents) == (GatewayChargeStatus.PAID, 15090)


# -- reading ----------------------------------------------------------------------------------


async def test_get_charge_reports_pending_then_paid(harness):
    created = await harness.gateway.create_charge(_request())

    pending = await harness.gateway.get_charge(created.provider_charge_id)
    harness.pay(created.provider_charge_id)
    paid = await harness.gateway.get_charge(created.provider_charge_id)

    assert pending.provider_charge_id == created.provider_charge_id
    assert (pending.status, pending.amount_cents, pending.paid_cents) == (
        GatewayChargeStatus.PENDING,
        15090,
        0,
    )
    assert paid.provider_charge_id == created.provider_charge_id
    assert (paid.status, paid.amount_cents, paid.paid_cents) == (
        GatewayChargeStatus.PAID,
        15090,
        15090,
    )


@pytest.mark.parametrize("which", ["unknown", "not an id", "path"])
async def test_a_charge_the_provider_does_not_have_is_not_found(harness, which):
    provider_charge_id = {
        "unknown": harness.unknown_id,
        "not an id": "nope",
        "path": "../payments",
    }[which]
    with pytest.raises(NotFound):
        await harness.gateway.get_charge(provider_charge_id)


# -- cancelling -------------------------------------------------------------------------------


async def test_a_pending_charge_is_cancelled_and_cancelling_again_is_harmless(harness):
    created = await harness.gateway.create_charge(_request())

    cancelled = await harness.gateway.cancel_charge(created.provider_charge_id)
    again = await harness.gateway.cancel_charge(created.provider_charge_id)
    read = await harness.gateway.get_charge(created.provider_charge_id)

    assert cancelled.status is GatewayChargeStatus.CANCELLED
    assert again.status is GatewayChargeStatus.CANCELLED
    assert read.status is GatewayChargeStatus.CANCELLED


async def test_a_paid_charge_cannot_be_cancelled(harness):
    created = await harness.gateway.create_charge(_request())
    harness.pay(created.provider_charge_id)

    with pytest.raises(InvalidStateTransition):
        await harness.gateway.cancel_charge(created.provider_charge_id)

    still = await harness.gateway.get_charge(created.provider_charge_id)
    assert (still.status, still.paid_cents) == (GatewayChargeStatus.PAID, 15090)


async def test_a_charge_expired_at_the_provider_reads_expired_and_cancels_without_refusal(
    harness,
):
    created = await harness.gateway.create_charge(_request())
    harness.expire(created.provider_charge_id)

    expired = await harness.gateway.get_charge(created.provider_charge_id)
    cancelled = await harness.gateway.cancel_charge(created.provider_charge_id)

    assert expired.status is GatewayChargeStatus.EXPIRED
    # Mercado Pago leaves it expired, Asaas deletes it: either way it can no longer be paid.
    assert cancelled.status in (GatewayChargeStatus.EXPIRED, GatewayChargeStatus.CANCELLED)


# -- webhooks ---------------------------------------------------------------------------------


async def test_a_signed_webhook_names_the_charge_and_a_replay_reads_alike(harness):
    created = await harness.gateway.create_charge(_request("chg_hook"))
    harness.pay(created.provider_charge_id)
    headers, body, query = harness.webhook(created.provider_charge_id, "evt_1001")

    notices = harness.gateway.read_webhook(headers, body, query=query)
    replayed = harness.gateway.read_webhook(headers, body, query=query)

    assert [n.provider_charge_id for n in notices] == [created.provider_charge_id]
    [notice] = notices
    assert notice.event_id
    assert notice.charge_id in (None, "chg_hook")
    # A notice may leave the status out (read the charge then); one that states it is right.
    assert notice.status in (None, GatewayChargeStatus.PAID)
    # The same delivery is recognisable as the same event (deduplication); another is not.
    assert [n.event_id for n in replayed] == [notice.event_id]
    headers, body, query = harness.webhook(created.provider_charge_id, "evt_1002")
    [other] = harness.gateway.read_webhook(headers, body, query=query)
    assert other.event_id != notice.event_id


@pytest.mark.parametrize("forgery", ["another secret", "no credentials"])
async def test_a_webhook_not_signed_with_the_account_secret_is_refused(harness, forgery):
    created = await harness.gateway.create_charge(_request("chg_forged"))
    harness.pay(created.provider_charge_id)
    headers, body, query = harness.forged_webhook(created.provider_charge_id)
    if forgery == "no credentials":
        headers = {"content-type": "application/json"}

    with pytest.raises(InvalidCredentials):
        harness.gateway.read_webhook(headers, body, query=query)


async def test_headers_are_read_whatever_their_case(harness):
    created = await harness.gateway.create_charge(_request("chg_case"))
    headers, body, query = harness.webhook(created.provider_charge_id, "evt_2002")
    shouted = {name.title(): value for name, value in headers.items()}

    [notice] = harness.gateway.read_webhook(shouted, body, query=query)

    assert notice.provider_charge_id == created.provider_charge_id


async def test_a_signed_body_that_is_no_webhook_is_invalid(harness):
    headers, body, query = harness.signed_garbage()
    with pytest.raises(ValidationError):
        harness.gateway.read_webhook(headers, body, query=query)
