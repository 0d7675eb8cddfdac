"""Stored objects: one small interface with a file and an S3 backend, and what lives in it.

`base` is the interface, `file` and `s3` the backends, `factory` builds the one the settings
name, `startup` checks settings and store before a service starts. `request_paths`,
`output_periods` and `periods` say where a request's objects live; `input_spool` is the
accepted copy of an upload.
"""
