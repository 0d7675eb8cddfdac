"""Taking an upload in: the CSV validated and spooled, the request recorded."""
