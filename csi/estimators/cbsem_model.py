"""The semopy adapter: a ModelSpec as semopy syntax, and semopy's matrices as a :class:`Structure`.

This is the only module that imports semopy (architecture principle 10), lazily.
Every fit builds a fresh ``semopy.Model`` (semopy keeps estimates on the model
and warm-starts the next fit from them, which a stateless estimator must not).
Items and constructs are renamed ``x0, x1, ...`` and ``f0, f1, ...`` in the
semopy text, so any column name (spaces, dots, operators) is safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.estimators.cbsem_kernel import BETA, LAMBDA, PSI, THETA, Structure
from csi.spec.model import ModelSpec, Modifier


@dataclass(frozen=True)
class Aliases:
    """Names used in the semopy text for the spec's items and constructs."""

    items: dict[str, str]
    constructs: dict[str, str]

    @classmethod
    def of(cls, spec: ModelSpec) -> Aliases:
        return cls(
            {n: f"x{i}" for i, n in enumerate(spec.item_names)},
            {n: f"f{i}" for i, n in enumerate(spec.construct_names)},
        )

    def __call__(self, name: str) -> str:
        return self.constructs.get(name) or self.items[name]


def semopy_syntax(spec: ModelSpec, aliases: Aliases | None = None) -> str:
    """The model in semopy (lavaan-like) syntax, with aliased names.

    Identification follows lavaan's ``auto.fix.first``: the first loading of a
    construct is fixed at 1 unless the model gives it a fixed value or frees it
    (``NA*x``).  A construct whose loadings are then all free gets a fresh label
    on each (semopy would otherwise fix its first unlabelled loading).  A
    single-item construct gets its item's residual variance fixed to 0 (the
    construct *is* the item), as lavaan does for ``F =~ x`` models written by
    hand, unless the model fixes or labels that variance itself.  Labels are
    renamed ``l_<label>`` so they cannot clash with semopy's own names.
    """
    a = aliases or Aliases.of(spec)
    mods = {m.key: m for m in spec.modifiers}
    fresh = iter(range(10**9))

    def mod(op: str, lhs: str, rhs: str) -> Modifier | None:
        return mods.get((op, *sorted((lhs, rhs))) if op == "~~" else (op, lhs, rhs))

    def pre(m: Modifier | None) -> str:
        if m is None or m.is_free_marker:
            return ""
        return f"{m.fixed!r}*" if m.fixed is not None else f"l_{m.label}*"

    lines = []
    for c in spec.constructs:
        ms = [mod("=~", c.name, i) for i in c.item_names]
        first = ms[0]
        if first is not None and first.fixed is None and first.label:
            raise EstimationError(
                f"the first loading {c.name} =~ {c.item_names[0]} is the marker (fixed at 1); a label cannot "
                f"constrain it: free it with NA*{c.item_names[0]} and fix the scale otherwise, or label another item"
            )
        if first is None and any(ms):
            ms[0] = Modifier(c.name, "=~", c.item_names[0], 1.0)  # explicit: semopy would fix the first unmodified
        any_fixed = ms[0] is None or any(m is not None and m.fixed is not None for m in ms)
        terms = []
        for i, m in zip(c.item_names, ms, strict=True):
            p = pre(m)
            if not any_fixed and not p:
                p = f"_free{next(fresh)}*"
            terms.append(p + a(i))
        lines.append(f"{a(c.name)} =~ " + " + ".join(terms))
        if len(c.items) == 1 and mod("~~", c.item_names[0], c.item_names[0]) is None:
            x = a(c.item_names[0])
            lines.append(f"{x} ~~ 0*{x}")
    for target in spec.endogenous:
        terms = [pre(mod("~", target, s)) + a(s) for s in spec.predecessors(target)]
        lines.append(f"{a(target)} ~ " + " + ".join(terms))
    for cov in spec.covariances:
        lines.append(f"{a(cov.left)} ~~ {pre(mod('~~', cov.left, cov.right))}{a(cov.right)}")
    return "\n".join(lines)


def _model(spec: ModelSpec, a: Aliases) -> Any:
    try:
        import semopy
    except ImportError as exc:  # pragma: no cover - semopy is a dependency
        raise EstimationError("method='cbsem' needs semopy: pip install 'semopy>=2.3'") from exc
    disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)  # semopy logs "No fixed loadings" for constructs scaled by their variance
    try:
        model = semopy.Model(semopy_syntax(spec, a))
    finally:
        logging.disable(disabled)
    for c in spec.constructs:
        # semopy's start values regress each item on the construct's fixed marker and loop forever when none
        # is fixed (all loadings free, scale set by the variance): regress on the first item instead.
        if model.first_manifs.get(a(c.name)) is None:
            model.first_manifs[a(c.name)] = a(c.item_names[0])
    return model


def parse_semopy(spec: ModelSpec) -> tuple[Any, Aliases]:
    """A fresh semopy model of ``spec``, parsed but not loaded or fitted: the parameter structure only."""
    a = Aliases.of(spec)
    return _model(spec, a), a


def fit_semopy(
    spec: ModelSpec, X: np.ndarray, S: np.ndarray, obj: str, solver: str, max_iter: int
) -> tuple[Any, Any, Aliases]:
    """Fit a fresh semopy model to data ``X (n, p)`` with sample covariance ``S`` (divisor N).

    Returns
    -------
    model, result, aliases
        The fitted ``semopy.Model``, semopy's ``SolverResult`` and the aliases.
    """
    a = Aliases.of(spec)
    cols = [a(i) for i in spec.item_names]
    model = _model(spec, a)
    frame = pd.DataFrame(X, columns=cols)
    cov = pd.DataFrame(S, index=cols, columns=cols)
    try:
        res = model.fit(frame, cov=cov, obj=obj, solver=solver, options={"maxiter": max_iter})
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise EstimationError(f"semopy could not fit the model ({obj}, {solver}): {exc}") from exc
    return model, res, a


def structure(model: Any, spec: ModelSpec, aliases: Aliases) -> tuple[Structure, np.ndarray]:
    """The parameter structure of a fitted semopy model, in the spec's item and construct order.

    Returns
    -------
    st
        :class:`Structure` with the fixed values of semopy's matrices.
    theta
        semopy's estimates ``(q,)`` in semopy's parameter order.
    """
    order = {
        "inner": [aliases(n) for n in spec.construct_names],
        "observed": [aliases(n) for n in spec.item_names],
    }
    names = model.names  # [(rows, cols)] of beta, lambda, psi, theta
    kinds = [("inner", "inner"), ("observed", "inner"), ("inner", "inner"), ("observed", "observed")]
    inner = list(names[BETA][0])
    if sorted(inner) != sorted(order["inner"]):  # pragma: no cover - only latents are inner in a csi spec
        raise EstimationError(f"unexpected semopy variables {inner}; csi specs have latent constructs only")
    perms = []
    for (rows, cols), (rk, ck) in zip(names, kinds, strict=True):
        perms.append(([list(rows).index(v) for v in order[rk]], [list(cols).index(v) for v in order[ck]]))
    base = []
    for mx, (pr, pc) in zip(model.matrices, perms, strict=True):
        base.append(np.array(mx, dtype=float)[np.ix_(pr, pc)])
    # Inverse permutations: semopy index -> spec index.
    inv = [({s: t for t, s in enumerate(pr)}, {s: t for t, s in enumerate(pc)}) for pr, pc in perms]
    # Fixed values reach semopy's matrices only when data are loaded: take them from the parameters.
    for p in model.parameters.values():
        if p.active or p.start is None:
            continue
        for loc in p.locations:
            code = next(i for i, mx in enumerate(model.matrices) if mx is loc.matrix)
            r, c = inv[code][0][loc.indices[0]], inv[code][1][loc.indices[1]]
            base[code][r, c] = float(p.start)
            if code in (PSI, THETA):
                base[code][c, r] = float(p.start)
    param, matrix, row, col = [], [], [], []
    active = [p for p in model.parameters.values() if p.active]
    for k, p in enumerate(active):
        for loc in p.locations:
            code = next(i for i, mx in enumerate(model.matrices) if mx is loc.matrix)
            r, c = inv[code][0][loc.indices[0]], inv[code][1][loc.indices[1]]
            if code in (PSI, THETA) and r < c:
                r, c = c, r  # lower triangle, so each symmetric pair has one canonical spelling
            param.append(k)
            matrix.append(code)
            row.append(r)
            col.append(c)
            base[code][r, c] = 0.0
            if code in (PSI, THETA):
                base[code][c, r] = 0.0
    st = Structure(
        base=tuple(base),  # type: ignore[arg-type]
        param=np.asarray(param, dtype=np.intp),
        matrix=np.asarray(matrix, dtype=np.intp),
        row=np.asarray(row, dtype=np.intp),
        col=np.asarray(col, dtype=np.intp),
        n_params=len(active),
    )
    vals = getattr(model, "param_vals", None)
    return st, (np.asarray(vals, dtype=float).copy() if vals is not None else np.zeros(st.n_params))


def start_values(st: Structure, S: np.ndarray) -> np.ndarray:
    """Start values from the covariance matrix: a one-factor moment solution per block.

    For a block with marker k (its loading fixed, else its first item) and a
    congeneric factor, ``S_ik S_kl / S_il = phi lambda_k^2`` for any two other
    items i, l, so ``phi`` (in the marker's metric) is the median of those
    ratios and ``lambda_i = S_ik / phi`` (two-item blocks: ``phi = S_ik``; one
    item: ``phi = S_kk``).  The solution is then rescaled to the block's fixed
    loading, or to its fixed latent variance when every loading is free.
    Residual variances start at ``S_ii - lambda_i^2 phi`` (at least a tenth of
    ``S_ii``), latent variances at ``phi``, exogenous latent covariances at the
    markers' covariance rescaled, paths at 0.  Far better than semopy's rules
    (latent variances 0.05), from which Fisher scoring can stall on ECSI-7.
    """
    L0, P0 = st.base[LAMBDA], st.base[PSI]
    p, m = L0.shape
    free = {(int(mx), int(r), int(c)): int(k) for k, mx, r, c in zip(st.param, st.matrix, st.row, st.col, strict=True)}
    lam = np.zeros((p, m))
    phi = np.ones(m)
    marker = np.zeros(m, dtype=int)
    for j in range(m):
        items = [i for i in range(p) if (LAMBDA, i, j) in free or L0[i, j] != 0]
        fixed = [i for i in items if (LAMBDA, i, j) not in free]
        k = fixed[0] if fixed else items[0]
        marker[j] = k
        others = [i for i in items if i != k]
        if len(others) >= 2:
            pairs = [(i, h) for a, i in enumerate(others) for h in others[a + 1 :] if S[i, h] != 0]
            ratios = [S[i, k] * S[k, h] / S[i, h] for i, h in pairs]
            ratios = [r for r in ratios if r > 0]
            f = float(np.median(ratios)) if ratios else S[k, k] / 2
        elif others:
            f = S[others[0], k] if S[others[0], k] > 0 else S[k, k] / 2
        else:
            f = S[k, k]
        f = min(max(f, 0.05 * S[k, k]), S[k, k])
        lam[items, j] = S[items, k] / f
        lam[k, j] = 1.0
        # Rescale from the marker metric to the block's own identification.
        v = L0[k, j] if fixed else 0.0
        if fixed and v != 0:
            lam[:, j] *= v
            f /= v * v
        elif not fixed and (PSI, j, j) not in free and P0[j, j] > 0:
            c = np.sqrt(f / P0[j, j])
            lam[:, j] *= c
            f = P0[j, j]
        phi[j] = f
    theta = np.zeros(st.n_params)
    seen: set[int] = set()
    for k, mx, r, c in zip(st.param, st.matrix, st.row, st.col, strict=True):
        if k in seen:
            continue
        seen.add(int(k))
        if mx == LAMBDA:
            theta[k] = lam[r, c]
        elif mx == PSI:
            if r == c:
                theta[k] = phi[r]
            else:
                # Covariance of the two factors from their markers' covariance, in the factors' metrics.
                theta[k] = S[marker[r], marker[c]] / (lam[marker[r], r] * lam[marker[c], c])
        elif mx == THETA and r == c:
            explained = float(lam[r] @ (lam[r] * phi))
            theta[k] = max(S[r, r] - explained, 0.1 * S[r, r])
    return theta


__all__ = ["Aliases", "BETA", "LAMBDA", "fit_semopy", "semopy_syntax", "parse_semopy", "start_values", "structure"]
