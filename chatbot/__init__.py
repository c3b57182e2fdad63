"""Chatbot: retrieve -> answer -> UI/API. Never imports ``ingest``."""
