"""The audit trail's hash chain: the canonical form, sealing and the verifier."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest

from porfin_core.domain.audit import (
    GENESIS_HASH,
    SYSTEM_ACTOR,
    Actor,
    ActorKind,
    AuditEntry,
    AuditHead,
    AuditRecord,
    BreakKind,
    ChainVerifier,
    canonical_bytes,
    record_hash,
    seal,
    verify_chain,
)
from porfin_core.errors import ValidationError

AT = datetime(2026, 11, 25, 13, 0, 0, 123456, tzinfo=UTC)
ANA = Actor(id="ana", kind=ActorKind.USER, source="198.51.100.4", request_id="req-9")


def entry(n: int = 1, clinic_id: str = "clinic1", **changes) -> AuditEntry:
    fields = {
        "clinic_id": clinic_id,
        "at": AT + timedelta(seconds=n),
        "action": "chat.read",
        "resource_type": "chat",
        "resource_id": f"chat{n}",
    }
    fields.update(changes)
    return AuditEntry.of(ANA, **fields)


def chain(count: int, clinic_id: str = "clinic1") -> list[AuditRecord]:
    records, prev = [], GENESIS_HASH
    for n in range(1, count + 1):
        record = seal(entry(n, clinic_id), n, prev)
        records.append(record)
        prev = record.hash
    return records


# -- the canonical form ---------------------------------------------------------------------


def test_the_canonical_form_is_sorted_compact_utf8_json():
    record = seal(
        AuditEntry.of(
            ANA,
            clinic_id="clínica",
            at=datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=-3))),
            action="chat.update",
            resource_type="chat",
            resource_id="c1",
            details={"reason": 'Paciente pediu "humano"', "mode": "human"},
        ),
        1,
        GENESIS_HASH,
    )
    expected = (
        '{"action":"chat.update","actor_id":"ana","actor_kind":"user",'
        '"at":"2026-11-25T13:00:00.000000Z","clinic_id":"clínica",'
        '"details":{"mode":"human","reason":"Paciente pediu \\"humano\\""},'
        f'"prev_hash":"{GENESIS_HASH}","request_id":"req-9","resource_id":"c1",'
        '"resource_type":"chat","seq":1,"source":"198.51.100.4"}'
    ).encode()
    assert canonical_bytes(record, 1, GENESIS_HASH) == expected
    assert record.hash == hashlib.sha256(expected).hexdigest() == record_hash(record)


def test_a_missing_request_id_is_null_in_the_canonical_form():
    record = seal(
        AuditEntry.of(
            SYSTEM_ACTOR, clinic_id="c", at=AT, action="a.b", resource_type="t", resource_id="r"
        ),
        1,
        GENESIS_HASH,
    )
    assert b'"request_id":null' in canonical_bytes(record, 1, GENESIS_HASH)
    assert b'"details":{}' in canonical_bytes(record, 1, GENESIS_HASH)


def test_the_same_instant_in_another_zone_hashes_the_same():
    local = entry(at=AT.astimezone(timezone(timedelta(hours=-3))))
    assert seal(local, 1, GENESIS_HASH).hash == seal(entry(at=AT), 1, GENESIS_HASH).hash


def test_every_field_is_covered_by_the_hash():
    record = chain(1)[0]
    changes = {
        "clinic_id": "x",
        "seq": 2,
        "at": AT,
        "actor_id": "x",
        "actor_kind": "system",
        "action": "x",
        "resource_type": "x",
        "resource_id": "x",
        "source": "x",
        "request_id": None,
        "details": {"x": "y"},
        "prev_hash": "f" * 64,
    }
    assert set(changes) == {a.name for a in attrs.fields(AuditRecord)} - {"hash"}
    for name, value in changes.items():
        assert record_hash(attrs.evolve(record, **{name: value})) != record.hash, name


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"at": datetime(2026, 1, 1)}, "at"),
        ({"resource_id": ""}, "resource_id"),
        ({"action": "x" * 513}, "action"),
        ({"resource_id": "\ud800"}, "resource_id"),
        ({"details": {str(n): "v" for n in range(17)}}, "details"),
        ({"details": {"k": "v" * 1025}}, "details"),
        ({"details": {"k": 1}}, "details"),
        ({"details": {"": "v"}}, "details"),
    ],
)
def test_an_invalid_entry_is_refused(changes, field):
    with pytest.raises(ValidationError) as caught:
        entry(**changes)
    assert caught.value.fields["field"] == field


def test_an_empty_actor_is_refused():
    with pytest.raises(ValidationError):
        AuditEntry.of(
            Actor(id="", kind=ActorKind.USER),
            clinic_id="c",
            at=AT,
            action="a",
            resource_type="t",
            resource_id="r",
        )


# -- the verifier ------------------------------------------------------------------------------


def test_an_intact_chain_verifies():
    records = chain(5)
    report = verify_chain("clinic1", records, AuditHead(5, records[-1].hash))
    assert report.ok
    assert (report.records, report.last_seq, report.last_hash) == (5, 5, records[-1].hash)


def test_an_empty_chain_verifies():
    report = verify_chain("clinic1", [])
    assert report.ok and (report.records, report.last_seq, report.last_hash) == (
        0,
        0,
        GENESIS_HASH,
    )


def test_a_modified_record():
    records = chain(5)
    records[2] = attrs.evolve(records[2], actor_id="mallory")
    report = verify_chain("clinic1", records)
    assert (report.broken.seq, report.broken.kind, report.last_seq) == (3, BreakKind.MODIFIED, 2)


def test_a_modified_record_with_its_hash_recomputed_breaks_the_next_link():
    records = chain(5)
    forged = attrs.evolve(records[2], actor_id="mallory")
    records[2] = attrs.evolve(forged, hash=record_hash(forged))
    report = verify_chain("clinic1", records)
    assert (report.broken.seq, report.broken.kind) == (4, BreakKind.BROKEN_LINK)


def test_a_deleted_record():
    records = chain(5)
    del records[1]
    report = verify_chain("clinic1", records)
    assert (report.broken.seq, report.broken.kind, report.broken.found_seq) == (
        2,
        BreakKind.MISSING,
        3,
    )


def test_a_deleted_record_with_the_rest_renumbered_and_rehashed_is_caught_by_the_head():
    original = chain(5)
    rebuilt, prev = [], GENESIS_HASH
    for seq, record in enumerate(original[:1] + original[2:], start=1):
        moved = seal(entry(int(record.resource_id[4:])), seq, prev)
        rebuilt.append(moved)
        prev = moved.hash
    report = verify_chain("clinic1", rebuilt, AuditHead(5, original[-1].hash))
    assert (report.broken.seq, report.broken.kind) == (5, BreakKind.TRUNCATED)
    # ...and a forged head that matches the rewritten chain is only caught by a copy of the
    # real head kept elsewhere:
    assert verify_chain("clinic1", rebuilt, AuditHead(4, rebuilt[-1].hash)).ok


def test_the_last_records_deleted():
    records = chain(5)
    report = verify_chain("clinic1", records[:3], AuditHead(5, records[-1].hash))
    assert (report.broken.seq, report.broken.kind, report.last_seq) == (
        4,
        BreakKind.TRUNCATED,
        3,
    )
    assert verify_chain("clinic1", [], AuditHead(5, records[-1].hash)).broken.seq == 1


def test_a_head_that_does_not_match_its_record():
    records = chain(5)
    report = verify_chain("clinic1", records, AuditHead(3, "f" * 64))
    assert (report.broken.seq, report.broken.kind) == (3, BreakKind.HEAD_MISMATCH)


def test_records_appended_after_the_head_was_read_are_checked_too():
    records = chain(5)
    assert verify_chain("clinic1", records, AuditHead(3, records[2].hash)).ok


def test_reordered_records():
    records = chain(5)
    records[1], records[2] = records[2], records[1]
    report = verify_chain("clinic1", records)
    assert (report.broken.seq, report.broken.kind) == (2, BreakKind.MISSING)


def test_a_duplicated_record():
    records = chain(3)
    records.insert(2, records[1])
    report = verify_chain("clinic1", records)
    assert (report.broken.seq, report.broken.kind) == (3, BreakKind.OUT_OF_ORDER)


def test_another_clinics_record():
    records = chain(3)
    records[1] = chain(2, "clinic2")[1]
    report = verify_chain("clinic1", records)
    assert (report.broken.seq, report.broken.kind) == (2, BreakKind.FOREIGN)


def test_the_verifier_stops_at_the_first_break():
    records = chain(5)
    verifier = ChainVerifier("clinic1")
    assert verifier.feed(records[0])
    assert not verifier.feed(records[2])
    assert not verifier.feed(records[3])
    report = verifier.report()
    assert (report.records, report.broken.seq) == (2, 2)
