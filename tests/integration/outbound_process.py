"""A Porfin process that only runs the outbound sender (started by the kill-and-restart
test, configured by ``PORFIN_*`` variables, killed with SIGKILL mid-batch)."""

from __future__ import annotations

import asyncio

import porfin_adapters.container as composition
from porfin_adapters.settings import load_settings


async def main() -> None:
    container = composition.create_container(load_settings())
    await composition.start(container)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
