"""The result of fitting a model with higher-order constructs: both orders, frozen and labelled.

:class:`HigherOrderFit` is a :class:`~csi.results.fit.FitResult` whose tables are those of the model that was
estimated last (:mod:`csi.spec.hoc`): the repeated-indicator model, or the second stage of a two-stage
approach.  It adds the model as written (:attr:`HigherOrderFit.hoc_spec`), the first stage, and the tables of
both orders:

* :attr:`HigherOrderFit.components`: each HOC's loading and weight on each of its components;
* :attr:`HigherOrderFit.quality_by_order`: Cronbach's alpha, composite reliability and AVE of every construct,
  the HOCs' from their loadings on their components (Sarstedt et al. 2019);
* :meth:`HigherOrderFit.htmt_by_order`: HTMT among the first-order constructs (items as indicators) and among
  the HOCs and the other constructs (the components' scores as the HOCs' indicators).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from csi.core.quality import ave as _ave
from csi.core.quality import htmt as _htmt
from csi.core.quality import rho_c as _rho_c
from csi.core.reliability import cronbach_alpha
from csi.results.fit import FitResult
from csi.spec.hoc import first_order_spec, stage2
from csi.spec.model import ModelSpec


def _corr(S: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diagonal(S))
    return S / np.outer(d, d)


@dataclass(frozen=True, eq=False)
class HigherOrderFit(FitResult):
    """Estimates of a model with higher-order constructs (see the module docstring).

    Attributes
    ----------
    hoc_spec
        The model as written, with its higher-order constructs.
    hoc
        The approach: ``"repeated"``, ``"two-stage-embedded"`` or ``"two-stage-disjoint"``
        (:data:`csi.estimators.hoc.HOC_APPROACHES`).
    stage1
        Two-stage approaches: the first stage's fit (repeated indicators, or the disjoint model); None for
        repeated indicators, whose one fit holds both orders.
    first_order_data
        The prepared first-order items (:class:`csi.data.prepare.PreparedData`) every replicate of a
        bootstrap resamples.
    """

    hoc_spec: ModelSpec | None = field(default=None, repr=False)
    hoc: str = "repeated"
    stage1: FitResult | None = field(default=None, repr=False)
    first_order_data: Any = field(default=None, repr=False)

    # ------------------------------------------------------------ sources
    @property
    def first_order(self) -> FitResult:
        """The fit that holds the components' measurement and scores (the first stage, or this fit)."""
        return self.stage1 if self.stage1 is not None else self

    def _final_or_first(self, construct: str) -> FitResult:
        """The fit reporting a first-order construct: this one when it is in the final model, else stage 1."""
        return self if construct in self.spec.construct_names else self.first_order

    # ------------------------------------------------------------ tables
    @cached_property
    def components(self) -> pd.DataFrame:
        """Per HOC and component: ``loading`` and ``weight`` of the HOC on the component.

        ``loading`` is the correlation of the HOC's score with the component's score, ``weight`` the
        coefficient of the component in the regression of the standardised HOC score on its components'
        scores.  In the two-stage approaches these are the second stage's loadings and (standardised) outer
        weights of the score items; with repeated indicators the loading of a Mode A HOC is its path to the
        component and the weight of a Mode B HOC the component's path to it (Sarstedt et al. 2019),
        except that the weight leaves out the HOC's other antecedents.
        """
        rows = []
        assert self.hoc_spec is not None
        for h in self.hoc_spec.higher_order:
            comps = list(self.hoc_spec.components_of(h))
            if self.stage1 is not None:
                lam = self.loadings[comps].to_numpy()
                sd = 1.0 if self.options.get("scaled", True) else self.item_sds[comps].to_numpy()
                w = self.weights[comps].to_numpy() * sd
            else:
                R = self.construct_correlations
                lam = R.loc[comps, h].to_numpy()
                w = np.linalg.solve(R.loc[comps, comps].to_numpy(), lam)
            rows += [(h, c, a, b) for c, a, b in zip(comps, lam, w, strict=True)]
        return pd.DataFrame(rows, columns=["hoc", "component", "loading", "weight"])

    def _first_order_corr(self) -> tuple[ModelSpec, np.ndarray]:
        """The first-order model (items only) and its item correlation matrix."""
        fo = first_order_spec(self.hoc_spec)
        src = self.first_order
        pos = {n: i for i, n in enumerate(src.spec.item_names)}
        idx = [pos[n] for n in fo.item_names]
        return fo, _corr(np.asarray(src.moments))[np.ix_(idx, idx)]

    @cached_property
    def quality_by_order(self) -> pd.DataFrame:
        """Per construct of :attr:`hoc_spec`: order, mode, number of indicators, alpha, rho_C and AVE.

        First-order constructs: from their items (the final fit's loadings, or the first stage's for the
        components in the two-stage approaches).  Higher-order constructs: from their loadings on their
        components (:attr:`components`) and the correlations of the components' scores, as for a block
        whose items are those scores (Sarstedt et al. 2019).  rho_C and AVE (Jöreskog 1971; Fornell
        & Larcker 1981) assume a reflective block and are NaN for Mode B.
        """
        spec = self.hoc_spec
        assert spec is not None
        comp = self.components
        rows = []
        for c in spec.constructs:
            if c.components:
                lam = comp.loc[comp["hoc"] == c.name, "loading"].to_numpy()
                names = list(c.components)
                R = self.first_order.construct_correlations.loc[names, names].to_numpy()
            else:
                names = list(c.item_names)
                src = self._final_or_first(c.name)
                lam = src.loadings[names].to_numpy()
                idx = [src.spec.item_names.index(n) for n in names]
                R = _corr(np.asarray(src.moments))[np.ix_(idx, idx)]
            ones = np.ones((len(lam), 1))
            reflective = c.mode == "A"
            rows.append((
                c.name, spec.order(c.name), c.mode, len(names), cronbach_alpha(R) if len(names) > 1 else np.nan,
                float(_rho_c(lam, ones)[0]) if reflective else np.nan, float(_ave(lam, ones)[0]) if reflective else np.nan,
            ))  # fmt: skip
        return pd.DataFrame(rows, columns=["construct", "order", "mode", "n_indicators", "cronbach_alpha", "rho_c",
                                           "ave"]).set_index("construct")  # fmt: skip

    def htmt_by_order(self) -> dict[str, pd.DataFrame]:
        """HTMT (Henseler, Ringle & Sarstedt 2015) of both orders.

        ``"first_order"``: among the constructs measured by items, from the item correlations.
        ``"higher_order"``: among the HOCs and the constructs that are no component, each HOC's indicators
        being its components' scores (Sarstedt et al. 2019): the second stage's item correlations
        in the two-stage approaches; with repeated indicators the same matrix built from the fit (score-score
        correlations are the construct correlations, score-item correlations the cross-loadings).  Second-order
        models only for the higher order (an empty table otherwise).
        """
        fo, S1 = self._first_order_corr()
        names = pd.Index(fo.construct_names, name="construct")
        out = {"first_order": pd.DataFrame(_htmt(S1, fo.block_mask), index=names, columns=names)}
        spec = self.hoc_spec
        assert spec is not None
        if any(spec.order(h) > 2 for h in spec.higher_order):
            out["higher_order"] = pd.DataFrame()
            return out
        view = stage2(spec)
        if self.stage1 is not None:
            S2 = _corr(np.asarray(self.moments))
        else:
            comps = set(k for h in spec.higher_order for k in spec.components_of(h))
            pos = {n: i for i, n in enumerate(fo.item_names)}
            items = view.item_names
            S2 = np.empty((len(items), len(items)))
            for a, x in enumerate(items):
                for b, y in enumerate(items):
                    if x in comps and y in comps:
                        S2[a, b] = self.construct_correlations.loc[x, y]
                    elif x in comps:
                        S2[a, b] = self.cross_loadings.loc[y, x]
                    elif y in comps:
                        S2[a, b] = self.cross_loadings.loc[x, y]
                    else:
                        S2[a, b] = S1[pos[x], pos[y]]
        names2 = pd.Index(view.construct_names, name="construct")
        out["higher_order"] = pd.DataFrame(_htmt(S2, view.block_mask), index=names2, columns=names2)
        return out

    @cached_property
    def first_order_outer_model(self) -> pd.DataFrame:
        """The components' items: construct, weight and loading (the first stage's, or this fit's)."""
        src = self.first_order
        om = src.outer_model
        assert self.hoc_spec is not None
        comps = [k for h in self.hoc_spec.higher_order for k in self.hoc_spec.components_of(h)]
        return om[om["construct"].isin(comps)][["construct", "weight", "loading"]]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every tidy table of :meth:`FitResult.tables` plus the higher-order ones."""
        out = super().tables()
        out["higher_order"] = self.components
        out["quality_by_order"] = self.quality_by_order.reset_index()
        if self.stage1 is not None:
            out["first_order_outer_model"] = self.first_order_outer_model.reset_index()
        return out

    # ------------------------------------------------------------ display
    def _fit_lines(self) -> list[tuple[str, str]]:
        assert self.hoc_spec is not None
        hocs = "; ".join(f"{h} (order {self.hoc_spec.order(h)}: {', '.join(self.hoc_spec.components_of(h))})"
                         for h in self.hoc_spec.higher_order)  # fmt: skip
        return [*super()._fit_lines(), ("Higher order", f"{self.hoc}; {hocs}")]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        out = super()._summary_tables()
        if self.stage1 is not None:
            out.append(("First-order measurement of the components (stage 1)", self.first_order_outer_model))
        out.append(("Higher-order constructs on their components", self.components.set_index(["hoc", "component"])))
        out.append(("Reliability and validity by order", self.quality_by_order))
        htmt = self.htmt_by_order()
        out.append(("HTMT, first order (items)", htmt["first_order"]))
        if not htmt["higher_order"].empty:
            out.append(("HTMT, higher order (components' scores as indicators)", htmt["higher_order"]))
        return out
