"""Pure message work: format registry, hardened parsing, validation, canonical pivot and mapping engine.

Nothing here touches the network, the clock or the store.
"""
from .parsing import ParseError, ParseLimits, parse
from .report import Issue, ValidationReport
from .validate import ValidationPolicy, Validator, default_validator, validate

__all__ = ["ParseError", "ParseLimits", "parse", "Issue", "ValidationReport", "ValidationPolicy", "Validator",
           "default_validator", "validate"]
