"""Sinks own the I/O: they take finished text and put it on a stream. No formatting here."""
