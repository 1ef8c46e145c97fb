"""FIML (missing="fiml") for CB-SEM against lavaan 0.6.14 ``sem(model, data, missing = "fiml")``.

Reference files: tests/reference/README.md §8 (political democracy with 82 missing
cells over 75 rows, the §6a model).  csi's Newton steps stop at a step below
1e-9 and lavaan's nlminb about 1e-5 from the optimum, so estimates are compared
to 1e-4 absolute, standard errors (lavaan's default for FIML: observed
information) to 1e-3 relative and the likelihood-based fit measures to 1e-5
relative (the brief's tolerances).  lavaan's EM for the saturated moments stops
about 2e-5 from its optimum (the h1 files), which moves the log-likelihood only
to second order but SRMR (built from those moments) to first order: 1e-4
relative there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL

import csi
from csi.errors import EstimationError

STEM = "political_democracy_missing.lavaan.semopy_model_FIML"
LIKELIHOOD = ["npar", "fmin", "chisq", "df", "pvalue", "cfi", "tli", "logl", "unrestricted.logl", "aic", "bic",
              "rmsea", "rmsea.ci.upper", "rmsea.pvalue", "rmsea.notclose.pvalue", "baseline.chisq", "baseline.df",
              "ntotal"]  # fmt: skip


@pytest.fixture(scope="module")
def pd_missing():
    return pd.read_csv(reference_file("political_democracy_missing.csv"), index_col=0)


@pytest.fixture(scope="module")
def fiml(pd_missing):
    return csi.fit(PD_MODEL, pd_missing, method="cbsem", missing="fiml")


def _key(lhs, op, rhs):
    return (op, *sorted((lhs, rhs))) if op == "~~" else (op, lhs, str(rhs) if isinstance(rhs, str) else "")


def _merged(fit):
    ref = pd.read_csv(reference_file(STEM + ".params.csv"), keep_default_na=False, na_values=["NA"])
    ours = fit.estimates
    ours.index = [_key(*r) for r in ours[["lhs", "op", "rhs"]].itertuples(index=False)]
    ref.index = [_key(*r) for r in ref[["lhs", "op", "rhs"]].itertuples(index=False)]
    assert set(ref.index) <= set(ours.index), set(ref.index) - set(ours.index)
    return ref.join(ours[["estimate", "std_error", "std_estimate", "free"]])


def test_estimates_and_intercepts_match_lavaan(fiml):
    m = _merged(fiml)
    assert fiml.converged and len(m) == 48  # 34 model rows, 11 item intercepts, 3 latent means (fixed 0)
    np.testing.assert_allclose(m["estimate"], m["est"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(m["std_estimate"], m["std.all"], rtol=0, atol=1e-4)


def test_observed_information_standard_errors_match_lavaan(fiml):
    m = _merged(fiml)
    free = m["se"] > 0
    assert (free == m["free"]).all()
    np.testing.assert_allclose(m.loc[free, "std_error"], m.loc[free, "se"], rtol=1e-3)


def test_fit_measures_match_lavaan(fiml):
    ref = pd.read_csv(reference_file(STEM + ".fit.csv")).set_index("measure")["value"]
    ours = fiml.fit_measures
    for key in LIKELIHOOD:
        assert ours[key.replace(".", "_")] == pytest.approx(ref[key], rel=1e-5, abs=1e-12), key
    assert ours["rmsea_ci_lower"] == ref["rmsea.ci.lower"] == 0
    assert ours["srmr"] == pytest.approx(ref["srmr"], rel=1e-4)


def test_complete_data_fiml_equals_ml_with_sample_means():
    data = pd.read_csv(reference_file("political_democracy.csv"), index_col=0)
    ml = csi.fit(PD_MODEL, data, method="cbsem")
    fi = csi.fit(PD_MODEL, data, method="cbsem", missing="fiml")
    t = fi.estimates
    model_rows = ~t["op"].isin(["~1"])
    np.testing.assert_allclose(t.loc[model_rows, "estimate"].to_numpy(), ml.estimates["estimate"], atol=1e-7)
    means = t[(t["op"] == "~1") & t["free"]].set_index("lhs")["estimate"]
    np.testing.assert_allclose(means[list(ml.spec.item_names)], data[list(ml.spec.item_names)].mean(), atol=1e-7)
    for key in ("chisq", "logl", "unrestricted_logl", "cfi", "rmsea"):
        assert fi.fit_measures[key] == pytest.approx(ml.fit_measures[key], rel=1e-7), key
    assert fi.fit_measures["npar"] == ml.fit_measures["npar"] + 11 and fi.fit_measures["df"] == ml.fit_measures["df"]


def test_scores_use_the_answered_items(fiml, pd_missing):
    scores = fiml.scores
    assert scores.shape == (75, 3) and np.isfinite(scores.to_numpy()).all()


def test_fiml_errors(fiml, pd_missing):
    with pytest.raises(EstimationError, match="weights"):
        csi.fit(PD_MODEL, pd_missing.assign(w=1.0), method="cbsem", missing="fiml", weights="w")
    with pytest.raises(EstimationError, match="obj"):
        csi.fit(PD_MODEL, pd_missing, method="cbsem", missing="fiml", obj="ULS")
    with pytest.raises(EstimationError, match="fiml"):
        csi.modification_indices(fiml)


def test_stacked_objective_is_the_casewise_likelihood(fiml, pd_missing):
    """The objective, batched over patterns of equal size, is ``-2 logl / N`` of the pattern-by-pattern
    log-likelihood (:func:`csi.estimators.cbsem_fiml.loglik`) up to its ``2 pi`` constant, its gradient the
    central difference of that likelihood (step 1e-6: error about 1e-9 relative), and its expected information
    the sum of the patterns' taken one at a time, at points away from the optimum."""
    from csi.estimators.cbsem_fiml import expected_information, loglik, objective, patterns
    from csi.estimators.cbsem_kernel import _indicator, factors, implied, location_information

    st, q = fiml.cbsem_state.structure, fiml.cbsem_state.structure.n_params
    X = pd_missing[list(fiml.spec.item_names)].to_numpy(float)
    pats, n = patterns(X), X.shape[0]
    assert len({g.observed.size for g in pats}) < len(pats)  # some sizes stack several patterns
    const = sum(g.n * g.observed.size for g in pats) * np.log(2 * np.pi) / n

    def minus2ll(z):
        return -2.0 * loglik(z[q:], implied(z[:q], st)[0], pats) / n - const

    rng = np.random.default_rng(3)
    z0 = np.concatenate([fiml.cbsem_state.theta, np.nanmean(X, axis=0)])
    for _ in range(3):
        z = z0 + rng.normal(0, 0.02, z0.size)
        F, g = objective(z, st, pats, n)
        assert F == pytest.approx(minus2ll(z), rel=1e-12)
        h = 1e-6
        fd = np.array([(minus2ll(z + h * e) - minus2ll(z - h * e)) / (2 * h) for e in np.eye(z.size)])
        np.testing.assert_allclose(g, fd, rtol=0, atol=1e-6 * np.max(np.abs(fd)))
        Sigma, U, V = factors(z[:q], st)
        Hl = sum(
            2.0 * p.n / n * location_information(U[:, p.observed], V[:, p.observed],
                                                 np.linalg.inv(Sigma[np.ix_(p.observed, p.observed)]))
            for p in pats
        )  # fmt: skip
        ind = _indicator(st)
        np.testing.assert_allclose(expected_information(z, st, pats, n)[:q, :q], ind @ Hl @ ind.T, rtol=1e-12,
                                   atol=1e-12)  # fmt: skip
