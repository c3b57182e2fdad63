"""Ingest: load -> clean -> chunk -> embed -> upsert. Never imports ``chatbot``."""
