"""Shared by every imgpipe service: settings, topic names, message models, database access."""
