"""Evolution API (the Baileys bridge to WhatsApp): client, gateway and webhook parsing."""
