"""All quality criteria of one fit in one frozen result."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from csi.quality._common import check_composite_fit
from csi.quality.htmt_inference import htmt_bootstrap
from csi.quality.model_fit import model_fit
from csi.quality.plspredict import plspredict as _plspredict
from csi.quality.reliability import reliability
from csi.quality.structural import f_squared, vif
from csi.quality.validity import fornell_larcker, htmt
from csi.resample.plans import SeedLike, seed_sequence
from csi.results.fit import FitResult
from csi.results.frozen import CopiedTables

_TITLES = {
    "reliability": "Reliability and convergent validity",
    "fornell_larcker": "Fornell-Larcker (diagonal: sqrt AVE)",
    "htmt": "HTMT",
    "htmt_inference": "HTMT_inference (bootstrap percentile bounds)",
    "vif": "VIF",
    "f2": "Effect sizes f²",
    "fit": "Model fit",
    "plspredict": "PLSpredict (out-of-sample, PLS vs LM)",
}


@dataclass(frozen=True, eq=False)
class Assessment(CopiedTables):
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
    htmt_inference
        ``construct_a, construct_b, htmt, ci_lower, ci_upper, below_<t>``
        (:func:`csi.quality.htmt_bootstrap`); None unless ``assess`` was given
        ``bootstrap``.
    plspredict
        ``construct, item, q2_predict, pls_rmse, pls_mae, lm_q2_predict,
        lm_rmse, lm_mae`` (:func:`csi.quality.plspredict`); None unless
        ``assess`` was given ``predict=True``.
    seed_entropy
        Entropy of the seed both resampling steps used (pass it back as
        ``seed`` to repeat them); None when neither ran.
    """

    method: str
    reliability: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    vif: pd.DataFrame
    f2: pd.DataFrame
    fit: pd.DataFrame
    htmt_inference: pd.DataFrame | None = None
    plspredict: pd.DataFrame | None = None
    seed_entropy: int | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every computed table by name, each a flat frame, for writing to files."""
        out = {
            "reliability": self.reliability.reset_index(),
            "fornell_larcker": self.fornell_larcker.reset_index(),
            "htmt": self.htmt.reset_index(),
            "htmt_inference": self.htmt_inference,
            "vif": self.vif,
            "f2": self.f2,
            "fit": self.fit,
            "plspredict": self.plspredict,
        }
        return {k: v for k, v in out.items() if v is not None}

    def long(self) -> pd.DataFrame:
        """Every number in one long table ``criterion, lhs, op, rhs, value``.

        ``criterion`` names the statistic (``cronbach_alpha``, ``htmt``,
        ``htmt_ci_upper``, ``vif``, ``q2_predict``, ...); ``lhs`` / ``rhs``
        are the constructs or items it belongs to, ``op`` as in
        :attr:`csi.FitResult.estimates` (``~`` for paths, ``<~`` for Mode B
        items, ``~~`` for a pair of constructs, ``=~`` for an item of a
        construct, empty for a construct or the whole model).
        """
        rows: list[tuple[str, str, str, str, float]] = []
        for col in ("cronbach_alpha", "rho_a", "rho_c", "ave"):
            rows += [(col, c, "", "", v) for c, v in self.reliability[col].items()]
        names = list(self.htmt.index)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                rows.append(("htmt", a, "~~", b, self.htmt.loc[a, b]))
        if self.htmt_inference is not None:
            for _, r in self.htmt_inference.iterrows():
                rows.append(("htmt_ci_lower", r["construct_a"], "~~", r["construct_b"], r["ci_lower"]))
                rows.append(("htmt_ci_upper", r["construct_a"], "~~", r["construct_b"], r["ci_upper"]))
        rows += [("vif", r.lhs, r.op, r.rhs, r.vif) for r in self.vif.itertuples()]
        rows += [("f2", r.lhs, r.op, r.rhs, r.f2) for r in self.f2.itertuples()]
        rows += [(r.statistic, "", "", "", r.value) for r in self.fit.itertuples()]
        if self.plspredict is not None:
            for col in ("q2_predict", "pls_rmse", "pls_mae", "lm_q2_predict", "lm_rmse", "lm_mae"):
                rows += [(col, r["construct"], "=~", r["item"], r[col]) for _, r in self.plspredict.iterrows()]
        out = pd.DataFrame(rows, columns=["criterion", "lhs", "op", "rhs", "value"])
        out["value"] = out["value"].astype(float)
        return out

    def _sections(self) -> list[tuple[str, pd.DataFrame]]:
        out = []
        for key, title in _TITLES.items():
            table = getattr(self, key)
            if table is None:
                continue
            if key in ("vif", "f2", "fit"):
                table = table.set_index(list(table.columns[:-1]))
            elif key == "htmt_inference":
                table = table.set_index(["construct_a", "construct_b"])
            elif key == "plspredict":
                table = table.set_index(["construct", "item"])
            out.append((title, table))
        return out

    def summary(self) -> str:
        """A readable text summary of every table."""
        lines = [f"Quality criteria ({self.method} fit)"]
        for title, table in self._sections():
            body = table.to_string(float_format=lambda x: f"{x:.4f}", na_rep="")
            lines += ["", title, "-" * len(title), body]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        parts = [f"<h3>Quality criteria ({html.escape(self.method)} fit)</h3>"]
        for title, table in self._sections():
            parts.append(f"<h4>{html.escape(title)}</h4>")
            parts.append(table.to_html(float_format=lambda x: f"{x:.4f}", na_rep="", escape=True))
        return "<div>" + "".join(parts) + "</div>"


def assess(
    fit: FitResult,
    *,
    bootstrap: int | None = None,
    predict: bool = False,
    seed: SeedLike = None,
    level: float = 0.95,
    k: int = 10,
    repetitions: int = 1,
) -> Assessment:
    """Compute every quality criterion of ``fit``.

    Parameters
    ----------
    fit
        A PLS or PLSc :class:`~csi.results.fit.FitResult`.
    bootstrap
        Number of resamples for HTMT_inference (:func:`csi.quality.htmt_bootstrap`);
        None (default) skips it.
    predict
        Run PLSpredict (:func:`csi.quality.plspredict`) with ``k`` folds and
        ``repetitions``.
    seed
        Seed of both resampling steps (they draw from separate streams of
        it); None draws fresh entropy, recorded in
        :attr:`Assessment.seed_entropy`.
    level
        One-sided level of the HTMT bounds.
    k, repetitions
        PLSpredict folds and repetitions.

    Returns
    -------
    Assessment
    """
    check_composite_fit(fit, "assess")
    mf = model_fit(fit)
    stats = pd.DataFrame(
        {
            "statistic": ["srmr", "gof", "d_uls", "d_g", "srmr_estimated", "d_uls_estimated", "d_g_estimated"],
            "value": [mf.loc["srmr", "saturated"], fit.gof, mf.loc["d_uls", "saturated"], mf.loc["d_g", "saturated"],
                      *mf["estimated"]],
        }
    )  # fmt: skip
    # One root for both steps (a Generator or None would otherwise give each step its own entropy).
    root = seed_sequence(seed) if (bootstrap is not None or predict) else None
    inference = None
    if bootstrap is not None:
        inference = htmt_bootstrap(fit, bootstrap, root, level=level).table
    return Assessment(
        method=fit.method,
        reliability=reliability(fit),
        fornell_larcker=fornell_larcker(fit),
        htmt=htmt(fit),
        vif=vif(fit),
        f2=f_squared(fit),
        fit=stats,
        htmt_inference=inference,
        plspredict=_plspredict(fit, k, repetitions, root) if predict else None,
        seed_entropy=None if root is None else int(root.entropy),  # type: ignore[arg-type]
    )
