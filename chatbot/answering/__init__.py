"""Answering a question: retrieval, the second stage, extractive and LLM answers, citations,
follow-ups, policy lists, checklists, and the service that orders them."""
