"""Living documentation: replying to patients."""

from pytest_bdd import scenarios

scenarios("enviando_mensagens.feature")
