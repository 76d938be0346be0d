"""Structured logging (structlog): human-readable on a terminal, JSON lines in production.

One setup for every long-running process (the API server, ``porfin worker``): structlog's
lines and the standard library's ``logging`` records (uvicorn, libraries) go through one
renderer, at the ``log_level`` and in the ``log_format`` of the settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

import structlog

from porfin_adapters.settings import Settings


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library's logging through one renderer."""
    level = getattr(logging, settings.log_level.upper())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
        logger_factory=(
            structlog.WriteLoggerFactory(file=_log_file(settings.log_file))
            if settings.log_file
            else structlog.PrintLoggerFactory()
        ),
    )
    # Standard-library records go to standard error, as before, in the same format.
    handler = (
        logging.StreamHandler(_log_file(settings.log_file))
        if settings.log_file
        else logging.StreamHandler()
    )
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _log_file(path: Path) -> TextIO:
    """The log file, opened once for appending (line-buffered)."""
    if path not in _OPEN_LOGS:
        path.parent.mkdir(parents=True, exist_ok=True)
        _OPEN_LOGS[path] = path.open("a", encoding="utf-8", buffering=1)
    return _OPEN_LOGS[path]


_OPEN_LOGS: dict[Path, TextIO] = {}
