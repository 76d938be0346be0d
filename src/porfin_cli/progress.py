"""Progress bars on stderr for long commands (backup, restore, export)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(
    label: str, enabled: bool = True, unit: str = "bytes"
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, shown only on a terminal; yields ``advance(done, total)``
    (``total`` 0: unknown). ``unit`` ``bytes`` shows sizes; any other word is a count
    (``"linhas"``)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    amount: ProgressColumn = (
        DownloadColumn() if unit == "bytes" else TextColumn(f"{{task.completed:.0f}} {unit}")
    )
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        amount,
        TimeElapsedColumn(),
        console=console,
        disable=not enabled or not console.is_terminal,
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total or None)

    with progress:
        yield advance
