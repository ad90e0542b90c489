"""Evidence objects of the validation stage: one Issue per finding, gathered in a ValidationReport."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. `code` is stable (documented in docs/rules.md); `path` is readable
    (`/DecMessage/DecLists/DecList[5]/OriginCountry`), never positional."""

    code: str
    message: str
    path: str = ""
    line: int | None = None
    severity: str = ERROR

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "path": self.path, "line": self.line}


@dataclass(slots=True)
class ValidationReport:
    format: str | None = None          # "prc:DecMessage", or None when the format is unknown
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def valid(self) -> bool:
        return not any(i.severity == ERROR for i in self.issues)

    @property
    def family(self) -> str | None:
        return self.format.split(":", 1)[0] if self.format else None

    @property
    def message_type(self) -> str | None:
        return self.format.split(":", 1)[1] if self.format else None

    def codes(self) -> set[str]:
        return {i.code for i in self.errors}

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "format": self.family, "message_type": self.message_type,
                "errors": [i.to_dict() for i in self.issues]}
