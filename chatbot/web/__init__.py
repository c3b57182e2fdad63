"""The HTTP edge: the JSON and OpenAI-compatible API, logins, rate limits and request guards,
the document view, feedback, and what the UI and API share."""
