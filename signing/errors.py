"""The one error type of the signing stage: a stable code plus a sentence naming what is wrong."""
from __future__ import annotations


class SigningError(ValueError):
    """`code` is stable (e.g. `digest-mismatch`, `signature-invalid`, `untrusted-certificate`); `message` names the
    element or certificate concerned. Never a traceback for bad input."""

    def __init__(self, code: str, message: str, path: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.path = path

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "path": self.path}
