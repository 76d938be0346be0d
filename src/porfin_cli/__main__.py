"""``python -m porfin_cli`` runs the ``porfin`` command."""

from porfin_cli.main import main

main()
