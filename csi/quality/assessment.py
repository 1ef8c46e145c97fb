"""All quality criteria of one fit in one frozen result."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from csi.quality.model_fit import srmr
from csi.quality.reliability import reliability
from csi.quality.structural import f_squared, vif
from csi.quality.validity import fornell_larcker, htmt
from csi.results.fit import FitResult


@dataclass(frozen=True, eq=False)
class Assessment:
    """Quality criteria of a fitted model (methodology §4.6).

    Attributes
    ----------
    method
        The estimator of the assessed fit (``"pls"``, ``"plsc"``).
    reliability
        Per construct: mode, n_items, cronbach_alpha, rho_a, rho_c, ave
        (:func:`csi.quality.reliability`).
    fornell_larcker
        sqrt(AVE) on the diagonal, construct correlations off it.
    htmt
        Heterotrait-monotrait ratios, construct by construct.
    vif
        ``lhs op rhs vif`` for structural predictors (``~``) and Mode B items
        (``<~``).
    f2
        ``lhs op rhs f2`` for every path.
    fit
        ``statistic, value``: SRMR (saturated structural model) and GoF.
    """

    method: str
    reliability: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    vif: pd.DataFrame
    f2: pd.DataFrame
    fit: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, for writing to files."""
        return {
            "reliability": self.reliability.reset_index(),
            "fornell_larcker": self.fornell_larcker.reset_index(),
            "htmt": self.htmt.reset_index(),
            "vif": self.vif,
            "f2": self.f2,
            "fit": self.fit,
        }

    def summary(self) -> str:
        """A readable text summary of every table."""
        titles = {
            "reliability": "Reliability and convergent validity",
            "fornell_larcker": "Fornell-Larcker (diagonal: sqrt AVE)",
            "htmt": "HTMT",
            "vif": "VIF",
            "f2": "Effect sizes f²",
            "fit": "Model fit",
        }
        lines = [f"Quality criteria ({self.method} fit)"]
        for key, title in titles.items():
            table = getattr(self, key)
            if key in ("vif", "f2", "fit"):
                table = table.set_index(list(table.columns[:-1]))
            body = table.to_string(float_format=lambda x: f"{x:.4f}", na_rep="")
            lines += ["", title, "-" * len(title), body]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def assess(fit: FitResult) -> Assessment:
    """Compute every quality criterion of ``fit``.

    Parameters
    ----------
    fit
        A PLS or PLSc :class:`~csi.results.fit.FitResult`.

    Returns
    -------
    Assessment
    """
    stats = pd.DataFrame({"statistic": ["srmr", "gof"], "value": [srmr(fit), fit.gof]})
    return Assessment(
        method=fit.method,
        reliability=reliability(fit),
        fornell_larcker=fornell_larcker(fit),
        htmt=htmt(fit),
        vif=vif(fit),
        f2=f_squared(fit),
        fit=stats,
    )
