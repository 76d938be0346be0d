"""A Porfin process that issues one charge through the clinic's gateway (started by the
kill test, configured by ``PORFIN_*`` variables; the customer id is its argument). The fake
gateway holds its answer, and the test kills this process with SIGKILL meanwhile."""

from __future__ import annotations

import asyncio
import sys

import porfin_adapters.container as composition
from porfin_adapters.settings import load_settings
from porfin_core.use_cases.create_charge import NewCharge


async def main(customer_id: str) -> None:
    container = composition.create_container(load_settings())
    await composition.start(container)
    clinic = (await container.set_up_installation()()).clinic
    print("ready", flush=True)
    await container.create_charge()(
        NewCharge(
            clinic_id=clinic.id,
            customer_id=customer_id,
            amount_cents=15090,
            description="Sinal da consulta",
            payer_document="24971563792",
        )
    )
    print("created", flush=True)  # never reached: the gateway holds its answer


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
