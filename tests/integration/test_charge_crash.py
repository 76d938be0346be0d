"""Killing the process between "the gateway created the charge" and "Porfin stored its
answer", then letting the charge.sync job retry, makes no second charge at the gateway (the
fake Asaas API, which carries the creation out and holds its answer while the process is
killed with SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.charges import ChargeStatus
from porfin_core.domain.customer import Identity
from porfin_core.use_cases.configure_payment_gateway import GatewayChoice
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from tests.fakes.asaas_api import API_KEY, AsaasApiFake
from tests.support import FixedClock


@pytest.fixture(scope="module")
def asaas() -> Iterator[AsaasApiFake]:
    with AsaasApiFake.serving() as fake:
        yield fake


def _settings(data_dir) -> Settings:
    return Settings(
        storage=StorageKind.SQLITE,
        data_dir=data_dir,
        inbound_media_downloads=0,
        evolution_health_interval_seconds=0,
        job_worker_concurrency=0,
    )


def _issue_and_kill(data_dir, customer_id: str, asaas: AsaasApiFake) -> None:
    """Run a process that issues a charge; SIGKILL it once Asaas has created the payment."""
    env = {**os.environ, "PORFIN_STORAGE": "sqlite", "PORFIN_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.charge_process", customer_id],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30
        while not asaas.payments and time.monotonic() < deadline:
            time.sleep(0.01)
        assert asaas.payments, "Asaas never received the charge"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
async def test_a_process_killed_after_the_gateway_created_the_charge_makes_no_second(
    tmp_path, asaas
):
    asaas.reset()
    setup = composition.create_container(_settings(tmp_path))
    await composition.start(setup)
    try:
        installation = await setup.set_up_installation()()
        received = await setup.receive_inbound_message()(
            ReceiveMessage(
                channel_id=installation.channel.id,
                provider_message_id="sim-1",
                sender=[Identity.of_phone("+5511987654321")],
                sender_name="Maria Souza",
                body="Oi, como pago o sinal?",
            )
        )
        await setup.configure_payment_gateway()(
            GatewayChoice(
                clinic_id=installation.clinic.id,
                provider="asaas",
                settings={
                    "api_key": API_KEY,
                    "webhook_token": "porfin-asaas-webhook-token",
                    "base_url": f"{asaas.url}/v3",
                },
            )
        )
    finally:
        await composition.stop(setup)

    asaas.hold_next("POST /v3/payments")
    await asyncio.to_thread(_issue_and_kill, tmp_path, received.customer_id, asaas)
    [made] = asaas.payments.values()

    # Restarted: the charge was stored before the call, awaiting its gateway; the job retries.
    later = FixedClock(datetime.now(UTC) + timedelta(minutes=2))
    restarted = composition.create_container(_settings(tmp_path))
    restarted.clock.override(providers.Object(later))
    await composition.start(restarted)
    try:
        async with restarted.uow_factory()(read_only=True) as uow:
            [charge] = await uow.charges.list(installation.clinic.id)
        assert charge.awaiting_gateway and charge.status is ChargeStatus.PENDING
        assert made["externalReference"] == charge.id
        await restarted.job_worker().drain()
        async with restarted.uow_factory()(read_only=True) as uow:
            charge = await uow.charges.get(installation.clinic.id, charge.id)
    finally:
        await composition.stop(restarted)
    assert charge.provider_charge_id == made["id"] and charge.br_code
    assert len(asaas.payments_for(charge.id)) == 1
    creations = [r for r in asaas.requests if (r.method, r.path) == ("POST", "/v3/payments")]
    assert len(creations) == 1  # the retry found the payment by its reference
