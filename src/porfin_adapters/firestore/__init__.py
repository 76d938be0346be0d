"""Cloud Firestore adapters: storage (repositories, unit of work, outbox) and client setup."""
