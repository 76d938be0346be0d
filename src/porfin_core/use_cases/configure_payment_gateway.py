"""Choose the payment gateway a clinic charges through (or go back to the embedded PIX)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.channel import SecretRef, SettingPlace
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.payment_gateway import (
    GATEWAY_SETTINGS,
    PaymentGatewayConfig,
    gateway_provider,
    gateway_setting,
)
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._channels import discard_secrets, store_secrets
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class GatewayChoice:
    """The gateway to charge through.

    Attributes:
        clinic_id: The clinic.
        provider: ``asaas`` or ``mercadopago``; None goes back to the embedded PIX (static
            codes confirmed by staff).
        settings: The account's settings by name (see ``GATEWAY_SETTINGS``): credentials go
            to the secret store, the clinic keeps references.
        actor: Who asks, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    provider: str | None
    settings: Mapping[str, str] = attrs.field(factory=dict)
    actor: Actor | None = None


@attrs.define(kw_only=True)
class ConfigurePaymentGateway:
    """Set (or remove) the clinic's payment gateway. Charges issued before keep their own
    provider; new ones go through the gateway. Secrets are written to the secret store
    first; the ones replaced are deleted once the change is committed (if it is not, the new
    ones are). Audit record ``clinic.payment_gateway`` (provider and setting names only)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    secrets: SecretStore

    async def __call__(self, command: GatewayChoice) -> Clinic:
        """Apply the choice; returns the clinic as stored.

        Raises:
            NotFound: no such clinic.
            ValidationError: an unknown gateway (``provider``), a setting it does not have
                or an invalid value (field: the setting), a required setting missing, or
                settings given without a gateway.
            StorageUnavailable: the secret store failed.
        """
        config = None
        refs: dict[str, SecretRef] = {}
        if command.provider is None:
            if command.settings:
                raise ValidationError("settings need a provider", field="provider")
        else:
            provider = gateway_provider(command.provider)
            read = [
                (gateway_setting(provider, name), value) for name, value in command.settings.items()
            ]
            cleaned = [(setting, setting.clean(value)) for setting, value in read]
            plain = {s.name: v for s, v in cleaned if s.place is not SettingPlace.SECRET}
            config = PaymentGatewayConfig(provider=provider, settings=plain)
            missing = [
                s.name
                for s in GATEWAY_SETTINGS[provider]
                if s.required and s.name not in command.settings
            ]
            if missing:
                raise ValidationError(f"{missing[0]} is required", field=missing[0])
            refs = await store_secrets(self.secrets, self.ids, cleaned)
            config = attrs.evolve(config, secrets=refs)
        replaced: list[SecretRef] = []

        async def work(uow: UnitOfWork) -> Clinic:
            clinic = await uow.clinics.get(command.clinic_id)
            previous = clinic.payment_gateway
            clinic.use_payment_gateway(config)
            await uow.clinics.save(clinic)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=clinic.id,
                    at=self.clock.now(),
                    action=AuditAction.CLINIC_PAYMENT_GATEWAY,
                    resource_type="clinic",
                    resource_id=clinic.id,
                    details={
                        "provider": config.provider.value if config else "embedded",
                        "settings": ",".join(sorted(command.settings)),
                    },
                )
            )
            await uow.commit()
            replaced[:] = list(previous.secrets.values()) if previous else []
            return clinic

        try:
            clinic = await transact(self.uow_factory, work)
        except BaseException:
            await discard_secrets(self.secrets, refs.values())
            raise
        await discard_secrets(self.secrets, replaced)
        return clinic
