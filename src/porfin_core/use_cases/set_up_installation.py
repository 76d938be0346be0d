"""First start: make sure there is a clinic to work with."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import SYSTEM_ACTOR, AuditAction, AuditEntry
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.clinic import DEFAULT_TIMEZONE, Clinic
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class Installation:
    """The clinic Porfin serves and its first channel; ``created`` on the very first start."""

    clinic: Clinic
    channel: Channel
    created: bool


@attrs.define(kw_only=True)
class SetUpInstallation:
    """Create the default clinic with a simulator channel unless a clinic exists already.

    The simulator channel lets a new installation be tried without any WhatsApp account.
    What it creates is recorded in the clinic's audit log, by the system.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(
        self, clinic_name: str = "Minha Clínica", timezone: str = DEFAULT_TIMEZONE
    ) -> Installation:
        """Return the installation, creating it if needed.

        Raises:
            ValidationError: unknown time zone.
        """

        async def work(uow: UnitOfWork) -> Installation:
            clinics = await uow.clinics.list()
            if clinics:
                clinic = clinics[0]
                channels = await uow.channels.list(clinic.id)
                simulator = next((c for c in channels if c.provider is Provider.SIMULATOR), None)
                if simulator is not None or channels:
                    return Installation(
                        clinic=clinic, channel=simulator or channels[0], created=False
                    )
            else:
                clinic = Clinic(id=self.ids.new_id(), name=clinic_name, timezone=timezone)
                await uow.clinics.save(clinic)
                await uow.audit.append(self._created(clinic.id, AuditAction.CLINIC_CREATE))
            channel = Channel(
                id=self.ids.new_id(),
                clinic_id=clinic.id,
                name="Simulador",
                provider=Provider.SIMULATOR,
                created_at=self.clock.now(),
            )
            await uow.channels.save(channel)
            await uow.audit.append(self._created(clinic.id, AuditAction.CHANNEL_CREATE, channel.id))
            await uow.commit()
            return Installation(clinic=clinic, channel=channel, created=True)

        return await transact(self.uow_factory, work)

    def _created(
        self, clinic_id: str, action: AuditAction, resource_id: str | None = None
    ) -> AuditEntry:
        return AuditEntry.of(
            SYSTEM_ACTOR,
            clinic_id=clinic_id,
            at=self.clock.now(),
            action=action,
            resource_type=action.split(".", 1)[0],
            resource_id=resource_id or clinic_id,
        )
