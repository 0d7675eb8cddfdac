"""`python -m cli`: the same as the `imgpipe` command."""

from cli.main import entry_point

entry_point()
