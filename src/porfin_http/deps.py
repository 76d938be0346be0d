"""Dependencies handlers receive."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Dependency

from porfin_adapters.container import Container

Services = Annotated[Container, Dependency(skip_validation=True)]
"""The application's container: handlers call its use cases."""
