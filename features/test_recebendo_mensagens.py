"""Living documentation: receiving patients' messages."""

from pytest_bdd import scenarios

scenarios("recebendo_mensagens.feature")
