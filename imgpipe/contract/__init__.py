"""The wire contract: what the services and downstream consumers exchange.

The messages on each topic and their keys, the stable error codes, and the output presets. It
imports nothing else of imgpipe, so a consumer can read it without the settings or a runtime.
"""
