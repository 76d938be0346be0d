"""Meta's WhatsApp Business Cloud API (Graph API): sending, media and webhooks."""
