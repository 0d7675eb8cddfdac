"""State in the database: request documents and their versions, finished rows, the index of
unfinished requests, the expiry queue, retention, and the stored layout with its migrations.

Every hot access is an insert or a single-`_id` read or write (docs/architecture.md)."""
