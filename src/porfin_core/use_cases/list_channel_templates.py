"""The approved WhatsApp templates staff may send through one of the clinic's numbers."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import MessageTemplate
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._channels import clinic_channel


@attrs.define(kw_only=True)
class ListChannelTemplates:
    """The templates the admin registered on a channel, for whoever writes to patients
    (secretaries included): what may be sent once a patient's 24-hour window has closed.
    Nothing of the channel's settings or credentials goes with them."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, channel_id: str) -> list[MessageTemplate]:
        """The channel's templates, in the order the admin listed them.

        Raises:
            NotFound: no such channel in the clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            return list((await clinic_channel(uow, clinic_id, channel_id)).templates)
