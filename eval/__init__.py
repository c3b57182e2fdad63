"""Eval: datasets -> run -> metrics -> report. Imports ``chatbot``, ``ingest`` and
``index_store``; nothing imports it."""
