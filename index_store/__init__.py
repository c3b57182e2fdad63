"""Shared base of PolicyQA: settings, typed records, ids and the store factories.

Everything else (``ingest``, ``chatbot``, ``eval``) builds on this package; it imports none of them.
"""
