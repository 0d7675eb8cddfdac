"""The `imgpipe` command: submit CSVs and follow them from a terminal, and run the services."""
