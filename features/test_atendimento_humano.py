"""Living documentation: human handoff and the AI receptionist."""

from pytest_bdd import scenarios

scenarios("atendimento_humano.feature")
