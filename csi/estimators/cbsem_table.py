"""The lavaan-style parameter table of a CB-SEM fit, evaluated for one fit or a stack of replicates.

:class:`TableLayout` fixes the rows (``lhs, op, rhs``) once from the spec and the
parameter :class:`~csi.estimators.cbsem_kernel.Structure`; :meth:`TableLayout.values`
then computes the unstandardised estimate and lavaan's ``std.all`` of every row
from a batch of parameter vectors, so the fit and its bootstrap share one code path.

Standardisation (lavaan ``standardizedSolution(type = "std.all")``), with ``Phi``
the model-implied latent covariance and ``Sigma`` the implied item covariance:

* loading ``lambda_ij``: ``lambda_ij sqrt(Phi_jj / Sigma_ii)``;
* regression / effect ``b_ts``: ``b_ts sqrt(Phi_ss / Phi_tt)``;
* variance of a latent (residual) ``psi_aa``: ``psi_aa / Phi_aa``; of an item
  residual ``theta_aa``: ``theta_aa / Sigma_aa``;
* covariance ``psi_ab`` or ``theta_ab``: the correlation of the two
  (residual) terms, ``c_ab / sqrt(c_aa c_bb)``.

Rows: loadings (``=~``, fixed markers included), regressions (``~``),
covariances and variances (``~~``), then ``r2`` (``1 - psi_tt / Phi_tt``), ``ind``
and ``total`` effects of every construct pair joined by a directed path
(``total = (I - Beta)^-1 - I``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from csi.estimators.cbsem_kernel import BETA, LAMBDA, PSI, THETA, Structure, implied, matrices
from csi.spec.model import ModelSpec
from csi.spec.parameters import parameter_label

_OP_ORDER = {"=~": 0, "~": 1, "~~": 2}


@dataclass(frozen=True)
class TableLayout:
    """Rows of the parameter table and where each value comes from.

    ``kind[r]`` is the matrix code (``BETA``, ``LAMBDA``, ``PSI``, ``THETA``) or
    ``"r2"``, ``"ind"``, ``"total"``; ``(i, j)`` its position (spec order).
    ``free[r]`` gives the free-parameter index or -1.
    """

    lhs: list[str]
    op: list[str]
    rhs: list[str]
    kind: list[object]
    i: NDArray[np.intp]
    j: NDArray[np.intp]
    free: NDArray[np.intp]

    @classmethod
    def of(cls, spec: ModelSpec, st: Structure) -> TableLayout:
        items, lvs = spec.item_names, spec.construct_names
        loc = {(int(m), int(r), int(c)): int(k) for k, m, r, c in zip(st.param, st.matrix, st.row, st.col)}
        rows: list[tuple[str, str, str, object, int, int, int]] = []
        # Loadings in spec order, fixed markers included (lavaan lists them with se 0).
        for j, c in enumerate(spec.constructs):
            for name in c.item_names:
                i = items.index(name)
                rows.append((c.name, "=~", name, LAMBDA, i, j, loc.get((LAMBDA, i, j), -1)))
        for p in spec.paths:
            t, s = lvs.index(p.target), lvs.index(p.source)
            rows.append((p.target, "~", p.source, BETA, t, s, loc.get((BETA, t, s), -1)))
        covs = []
        for (m, r, c), k in loc.items():
            if m in (PSI, THETA):
                names = lvs if m == PSI else items
                # Off-diagonal first (user covariances, then latent ones), then variances, like lavaan.
                covs.append(((r == c, m == PSI, min(r, c), max(r, c)), (names[c], "~~", names[r], m, r, c, k)))
        # Fixed item residual variances (single-item constructs) still get a row.
        for i, name in enumerate(items):
            if (THETA, i, i) not in loc:
                covs.append(((True, False, i, i), (name, "~~", name, THETA, i, i, -1)))
        # So do (co)variances the model text fixes (``f ~~ 1*f``, ``a ~~ 0*b``), as lavaan lists them.
        for mod in spec.modifiers:
            if mod.op != "~~" or mod.fixed is None or mod.lhs not in lvs or mod.rhs not in lvs:
                continue
            r, c = sorted((lvs.index(mod.lhs), lvs.index(mod.rhs)), reverse=True)
            if (PSI, r, c) not in loc:
                covs.append(((r == c, True, c, r), (lvs[c], "~~", lvs[r], PSI, r, c, -1)))
        for mod in spec.modifiers:
            if mod.op != "~~" or mod.fixed is None or mod.lhs not in items or mod.rhs not in items or mod.lhs == mod.rhs:
                continue
            r, c = sorted((items.index(mod.lhs), items.index(mod.rhs)), reverse=True)
            if (THETA, r, c) not in loc:
                covs.append(((False, False, c, r), (items[c], "~~", items[r], THETA, r, c, -1)))
        rows += [row for _, row in sorted(covs, key=lambda x: x[0])]
        for t in spec.endogenous:
            ti = lvs.index(t)
            rows.append((t, "r2", t, "r2", ti, ti, -1))
        reach = _total_pairs(spec)
        for kind in ("ind", "total"):
            for t, s in reach:
                rows.append((t, kind, s, kind, lvs.index(t), lvs.index(s), -1))
        lhs, op, rhs, kind_, i_, j_, free = zip(*rows, strict=True)
        return cls(
            list(lhs), list(op), list(rhs), list(kind_),
            np.asarray(i_, dtype=np.intp), np.asarray(j_, dtype=np.intp), np.asarray(free, dtype=np.intp),
        )  # fmt: skip

    @property
    def labels(self) -> list[str]:
        return [parameter_label(a, o, b) for a, o, b in zip(self.lhs, self.op, self.rhs, strict=True)]

    def values(self, theta: NDArray[np.float64], st: Structure) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Unstandardised and standardised (std.all) value of every row, each ``(..., rows)``."""
        Bt, L, Ps, Th = matrices(theta, st)
        Sigma, Phi, _, _, C = implied(theta, st)
        vy = np.diagonal(Sigma, axis1=-2, axis2=-1)
        ve = np.diagonal(Phi, axis1=-2, axis2=-1)
        dps = np.diagonal(Ps, axis1=-2, axis2=-1)
        dth = np.diagonal(Th, axis1=-2, axis2=-1)
        total = C - np.eye(st.m)
        longer = _longer_paths(st)
        batch = theta.shape[:-1]
        est = np.empty(batch + (len(self.lhs),))
        std = np.empty_like(est)
        with np.errstate(divide="ignore", invalid="ignore"):
            for r, (kind, i, j) in enumerate(zip(self.kind, self.i, self.j, strict=True)):
                if kind == LAMBDA:
                    est[..., r] = L[..., i, j]
                    std[..., r] = L[..., i, j] * np.sqrt(ve[..., j] / vy[..., i])
                elif kind == BETA:
                    est[..., r] = Bt[..., i, j]
                    std[..., r] = Bt[..., i, j] * np.sqrt(ve[..., j] / ve[..., i])
                elif kind in (PSI, THETA):
                    mx, d, v = (Ps, dps, ve) if kind == PSI else (Th, dth, vy)
                    est[..., r] = mx[..., i, j]
                    std[..., r] = mx[..., i, j] / (v[..., i] if i == j else np.sqrt(d[..., i] * d[..., j]))
                elif kind == "r2":
                    est[..., r] = std[..., r] = 1.0 - dps[..., i] / ve[..., i]
                elif kind == "ind" and not longer[i, j]:
                    # Only the direct path: the effect is zero, not the rounding of total - direct (whose sign
                    # would make the bootstrap's p-value and BC bound of an exact zero depend on the last bits).
                    est[..., r] = std[..., r] = 0.0
                else:
                    eff = total[..., i, j] - (Bt[..., i, j] if kind == "ind" else 0.0)
                    est[..., r] = eff
                    std[..., r] = eff * np.sqrt(ve[..., j] / ve[..., i])
        return est, std


def _longer_paths(st: Structure) -> NDArray[np.bool_]:
    """``(m, m)``: ``[t, s]`` where a directed path of two or more regressions leads from s to t."""
    step = (st.base[BETA] != 0).astype(np.int64)
    sel = st.matrix == BETA
    step[st.row[sel], st.col[sel]] = 1
    reach = step.copy()  # paths of one or more steps
    for _ in range(st.m):
        reach = np.minimum(reach + reach @ step, 1)
    return (step @ reach) > 0


def _total_pairs(spec: ModelSpec) -> list[tuple[str, str]]:
    """(target, source) for every pair joined by a directed path, in construct order."""
    names = spec.construct_names
    succ = {n: set(spec.successors(n)) for n in names}
    out = []
    for s in names:
        seen: set[str] = set()
        stack = list(succ[s])
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(succ[n])
        out += [(t, s) for t in names if t in seen]
    return out
