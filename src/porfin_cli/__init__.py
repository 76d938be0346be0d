"""The command-line shell: ``porfin`` (Typer). Messages are in Brazilian Portuguese."""
