"""The configuration: every `IMGPIPE_*` setting, read and checked in one place.

Below every room that reads it; it imports only the contract (for the types of its values).
"""
