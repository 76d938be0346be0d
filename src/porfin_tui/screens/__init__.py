"""The inbox's screens: login, conversas (inbox), agenda, painel (dashboard), ajuda (help)."""
