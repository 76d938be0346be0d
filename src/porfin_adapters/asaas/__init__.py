"""Asaas (API v3): PIX, boleto and card charges, and their webhooks."""

from porfin_adapters.asaas.client import PRODUCTION_URL, SANDBOX_URL, AsaasClient
from porfin_adapters.asaas.gateway import AsaasGateway

__all__ = ["PRODUCTION_URL", "SANDBOX_URL", "AsaasClient", "AsaasGateway"]
