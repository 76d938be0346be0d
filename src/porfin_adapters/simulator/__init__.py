"""The simulator channel: a WhatsApp stand-in for trying Porfin without any account."""
