"""Where everything a request stores lives: one small interface, a file and an S3 backend.

`base` is the interface, `file` and `s3` the backends, `location` reads `IMGPIPE_STORAGE_URL`,
`factory` builds the backend it names, `startup` checks it before a service starts.
"""
