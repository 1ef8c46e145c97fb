"""Exceptions and warnings raised by csi.

Every error that bad input can provoke is a subclass of :class:`CSIError`, so a
command-line front end can catch one type and print a one-line reason.  The
subclasses also derive from :class:`ValueError` because each of them reports a
value the caller passed that csi cannot accept.
"""

from __future__ import annotations


class CSIError(ValueError):
    """Base class of every input error raised by csi."""


class SpecError(CSIError):
    """A model specification is inconsistent (unknown construct, cycle, ...)."""


class ModelSyntaxError(SpecError):
    """Model text could not be parsed.

    Parameters
    ----------
    message
        What is wrong and what would be accepted.
    line, column
        1-based position of the offending character.
    source_line
        The full text of the offending line, shown with a caret under ``column``.
    """

    def __init__(self, message: str, line: int, column: int, source_line: str) -> None:
        self.line = line
        self.column = column
        self.source_line = source_line
        caret = " " * (max(column, 1) - 1) + "^"
        super().__init__(f"line {line}, column {column}: {message}\n  {source_line}\n  {caret}")


class DataError(CSIError):
    """Survey data do not fit the model (missing column, non-numeric value, ...)."""


class NoScaleWarning(UserWarning):
    """A model bound to data has items without a known scale, so no 0-100 index can be computed."""


class EstimationError(CSIError):
    """An estimator cannot be applied to these data or this specification."""


class BootstrapError(CSIError):
    """A resampling option is invalid (seed, number of resamples, level, interval kind, ...)."""


class ConvergenceWarning(UserWarning):
    """An iterative algorithm stopped at its iteration limit before converging."""


class AdmissibilityWarning(UserWarning):
    """A consistent estimator returned an inadmissible solution (e.g. rho_A > 1 or a correlation above 1)."""


class InputFileError(CSIError, FileNotFoundError):
    """A named input file (model, data, weights) does not exist.

    Also a :class:`FileNotFoundError`, so callers that catch the built-in
    exception keep working.
    """
class MissingDataWarning(UserWarning):
    """A missing-data method left out many respondents, or its moments are questionable (e.g. not positive definite)."""
