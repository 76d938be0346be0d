"""Mercado Pago (Brazil): PIX payments through ``/v1/payments`` and signed webhooks."""
