"""Customers: created at first contact, known under every identity they used."""

from __future__ import annotations

import pytest

from porfin_core.domain.customer import (
    Consent,
    ConsentPurpose,
    Customer,
    Identity,
    IdentityKind,
    identity_keys,
    phone_of,
)
from porfin_core.domain.events import CustomerCreated
from porfin_core.errors import InvalidPhoneNumber, ValidationError
from tests.support import FixedClock

K = IdentityKind


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def first(clock, *identities: Identity, name: str = "Maria Silva") -> Customer:
    return Customer.first_contact(
        id="cust1", clinic_id="clinic1", name=name, identities=list(identities), at=clock.now()
    )


def test_first_contact_from_a_wa_id(clock):
    customer = first(clock, Identity(K.WA_ID, "551187654321"))
    assert customer.phone == "+5511987654321"
    assert customer.name == "Maria Silva"
    assert customer.identities == [
        Identity(K.WA_ID, "551187654321"),
        Identity(K.PHONE, "+5511987654321"),
    ]
    assert customer.stage.value == "new_lead"
    assert customer.created_at == clock.now()
    assert customer.pull_events() == [
        CustomerCreated(clinic_id="clinic1", occurred_at=clock.now(), customer_id="cust1")
    ]


def test_writing_to_the_clinic_implies_consent_to_be_served(clock):
    customer = first(clock, Identity.of_phone("+55 11 98765-4321"))
    assert customer.consents == {
        ConsentPurpose.SERVICE: Consent(
            ConsentPurpose.SERVICE, True, clock.now(), "inbound_message"
        )
    }
    assert ConsentPurpose.MARKETING not in customer.consents


def test_set_consent_keeps_the_latest_decision(clock):
    customer = first(clock, Identity.of_phone("+5511987654321"))
    yes = Consent(ConsentPurpose.MARKETING, True, clock.now(), "form")
    no = Consent(ConsentPurpose.MARKETING, False, clock.advance(days=1), "whatsapp")
    customer.set_consent(yes)
    customer.set_consent(no)
    assert customer.consents[ConsentPurpose.MARKETING] == no


@pytest.mark.parametrize(
    ("name", "expected"),
    [("  Maria  ", "Maria"), ("", "+5511987654321"), ("   ", "+5511987654321")],
)
def test_name_falls_back_to_the_phone(clock, name, expected):
    assert first(clock, Identity.of_phone("11 98765-4321"), name=name).name == expected


def test_name_falls_back_to_the_identity_without_a_phone(clock):
    customer = first(clock, Identity(K.LID, "123456789@lid"), name="")
    assert customer.name == "123456789@lid"
    assert customer.phone is None


def test_first_contact_needs_an_identity(clock):
    with pytest.raises(ValidationError) as info:
        first(clock)
    assert info.value.fields == {"field": "identities"}


def test_the_phone_comes_from_the_first_phone_bearing_identity(clock):
    customer = first(
        clock,
        Identity(K.BSUID, "BR.abc"),
        Identity(K.JID, "5521987654321@s.whatsapp.net"),
        Identity(K.WA_ID, "5511987654321"),
    )
    assert customer.phone == "+5521987654321"


def test_add_identity_reports_whether_it_was_new(clock):
    customer = first(clock, Identity.of_phone("+5511987654321"))
    assert customer.add_identity(Identity(K.BSUID, "BR.abc"))
    assert not customer.add_identity(Identity(K.BSUID, "BR.abc"))
    assert not customer.add_identity(Identity(K.PHONE, "+5511987654321"))
    assert customer.add_identity(Identity(K.WA_ID, "551187654321"))  # the wa_id is new
    assert not customer.add_identity(Identity(K.WA_ID, "551187654321"))
    assert customer.identities.count(Identity(K.PHONE, "+5511987654321")) == 1


def test_a_second_number_does_not_replace_the_phone(clock):
    customer = first(clock, Identity.of_phone("+5511987654321"))
    customer.add_identity(Identity(K.WA_ID, "5521987654321"))
    assert customer.phone == "+5511987654321"
    assert Identity(K.PHONE, "+5521987654321") in customer.identities


def test_a_lid_contact_gains_a_phone_later(clock):
    customer = first(clock, Identity(K.LID, "987654321012345@lid"), name="Maria")
    assert customer.phone is None
    assert customer.whatsapp_addresses() == ()
    assert customer.add_identity(Identity(K.JID, "551187654321@s.whatsapp.net"))
    assert customer.phone == "+5511987654321"
    assert customer.identities == [
        Identity(K.LID, "987654321012345@lid"),
        Identity(K.JID, "551187654321@s.whatsapp.net"),
        Identity(K.PHONE, "+5511987654321"),
    ]
    assert customer.whatsapp_addresses() == ("5511987654321", "551187654321")


def test_of_phone_normalizes_and_rejects_junk():
    assert Identity.of_phone("(11) 8765-4321") == Identity(K.PHONE, "+5511987654321")
    with pytest.raises(InvalidPhoneNumber):
        Identity.of_phone("não sei")


def test_identity_key():
    assert Identity(K.BSUID, "BR.abc").key == "bsuid:BR.abc"


@pytest.mark.parametrize(
    ("identity", "phone"),
    [
        (Identity(K.PHONE, "+5511987654321"), "+5511987654321"),
        (Identity(K.WA_ID, "551187654321"), "+5511987654321"),
        (Identity(K.JID, "551187654321@s.whatsapp.net"), "+5511987654321"),
        (Identity(K.BSUID, "BR.abc"), None),
        (Identity(K.LID, "123456@lid"), None),
        (Identity(K.WA_ID, "BR.not-digits"), None),
    ],
)
def test_phone_of(identity, phone):
    assert phone_of(identity) == phone


def test_a_jid_that_is_not_a_phone_is_rejected():
    # ``jid`` identities are phone JIDs; a group JID is not a person.
    with pytest.raises(InvalidPhoneNumber):
        phone_of(Identity(K.JID, "120363012345678901@g.us"))


def test_identity_keys_meet_on_the_canonical_phone():
    legacy = identity_keys([Identity(K.WA_ID, "551187654321")])
    current = identity_keys([Identity(K.PHONE, "+5511987654321")])
    jid = identity_keys([Identity(K.JID, "5511987654321@s.whatsapp.net")])
    assert legacy == ["wa_id:551187654321", "phone:+5511987654321"]
    assert current == ["phone:+5511987654321"]
    assert jid == ["jid:5511987654321@s.whatsapp.net", "phone:+5511987654321"]


def test_identity_keys_keep_order_and_drop_duplicates():
    keys = identity_keys(
        [
            Identity(K.WA_ID, "5511987654321"),
            Identity(K.BSUID, "BR.abc"),
            Identity(K.PHONE, "+5511987654321"),
            Identity(K.LID, "42@lid"),
        ]
    )
    assert keys == ["wa_id:5511987654321", "phone:+5511987654321", "bsuid:BR.abc", "lid:42@lid"]


@pytest.mark.parametrize(
    ("identity", "phone"),
    [
        (Identity(IdentityKind.WA_ID, "16505551234"), "+16505551234"),
        (Identity(IdentityKind.JID, "16505551234@s.whatsapp.net"), "+16505551234"),
        (Identity(IdentityKind.JID, "16505551234:12@s.whatsapp.net"), "+16505551234"),
        (Identity(IdentityKind.JID, "551187654321@s.whatsapp.net"), "+5511987654321"),
        (Identity(IdentityKind.JID, "5511987654321@s.whatsapp.net"), "+5511987654321"),
        (Identity(IdentityKind.WA_ID, "551187654321"), "+5511987654321"),
        (Identity(IdentityKind.LID, "123456789012345@lid"), None),
    ],
)
def test_whatsapp_ids_are_international_numbers(identity, phone):
    assert phone_of(identity) == phone
