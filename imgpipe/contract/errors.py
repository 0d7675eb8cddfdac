"""The one base of imgpipe's expected failures: a stable code for programs, a sentence for people.

A fetch that failed, an image that could not be decoded, a CSV over a limit, an API request
refused: each is raised as a `CodedError`, so code that reports a failure (an image's outcome,
an error response, the CLI) reads the same two attributes whatever went wrong.
"""

from __future__ import annotations

from typing import Generic, TypeVar

# The codes of a failure family: a closed enum (`ErrorCode`) or the API's error strings.
CodeT = TypeVar("CodeT", bound=str)


class CodedError(Exception, Generic[CodeT]):
    def __init__(self, code: CodeT, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
