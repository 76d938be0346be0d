"""Data the channel and media API tests need before the app starts: a user per role, and a
second clinic with a channel and a file (the test client runs the app on a loop of its own,
so the app's storage cannot be driven from the test's loop)."""

from __future__ import annotations

import attrs
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_core.domain.clinic import Clinic
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_core.use_cases.upload_media import NewMedia
from tests.e2e.conftest import FAST_HASHER

PASSWORD = "correct horse battery"
ROLES = ("admin", "manager", "secretary")
OTHER_CLINIC = "outra-clinica"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


@attrs.frozen
class Seeded:
    """What was created: the installation's clinic, and the other clinic's channel and file."""

    clinic_id: str
    other_channel_id: str
    other_media_id: str


async def seed(container, clock) -> Seeded:
    seeder = create_container(container.settings())
    seeder.clock.override(providers.Object(clock))
    seeder.password_hasher.override(providers.Object(FAST_HASHER))
    await composition.start(seeder)
    try:
        clinic_id = (await seeder.set_up_installation()()).clinic.id
        for role in ROLES:
            await seeder.create_staff_user()(
                NewStaffUser(
                    clinic_id=clinic_id,
                    name=f"Ana {role}",
                    email=f"{role}@clinica.com.br",
                    role=role,
                    password=PASSWORD,
                )
            )
        async with seeder.uow_factory()() as uow:
            await uow.clinics.save(Clinic(id=OTHER_CLINIC, name="Outra Clínica"))
            await uow.commit()
        channel = await seeder.create_channel()(
            NewChannel(clinic_id=OTHER_CLINIC, name="Deles", provider="simulator")
        )
        media = await seeder.upload_media()(
            NewMedia(clinic_id=OTHER_CLINIC, mime_type="image/jpeg", data=JPEG)
        )
        return Seeded(clinic_id, channel.id, media.id)
    finally:
        await composition.stop(seeder)


async def headers_of(api, role: str) -> dict[str, str]:
    """A bearer header for the seeded user of ``role``."""
    answer = await api.post(
        "/api/v1/auth/login", json={"email": f"{role}@clinica.com.br", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
