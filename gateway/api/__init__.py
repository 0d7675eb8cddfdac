"""The HTTP API: routes, their request and response shapes, errors, keys and limits, the web page."""
