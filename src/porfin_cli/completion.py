"""``porfin completion bash|zsh|fish``: the shell completion script, printed."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

PROG_NAME = "porfin"
COMPLETE_VAR = "_PORFIN_COMPLETE"
"""The variable Typer's completion reads (``_<PROG>_COMPLETE``)."""


class Shell(enum.StrEnum):
    """Shells with completion."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh ou fish.")],
) -> None:
    """Mostra o script de autocompletar do shell (veja docs/cli.md para instalar).

    bash: porfin completion bash > ~/.local/share/bash-completion/completions/porfin
    zsh:  porfin completion zsh > ~/.zfunc/_porfin (com ~/.zfunc no fpath)
    fish: porfin completion fish > ~/.config/fish/completions/porfin.fish
    """
    from typer._completion_shared import get_completion_script

    typer.echo(
        get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value)
    )
