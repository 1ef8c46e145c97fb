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


def fit_semopy(
    spec: ModelSpec, X: np.ndarray, S: np.ndarray, obj: str, solver: str, max_iter: int
) -> tuple[Any, Any, Aliases]:
    """Fit a fresh semopy model to data ``X (n, p)`` with sample covariance ``S`` (divisor N).

    Returns
    -------
    model, result, aliases
        The fitted ``semopy.Model``, semopy's ``SolverResult`` and the aliases.
    """
    try:
        import semopy
    except ImportError as exc:  # pragma: no cover - semopy is a dependency
        raise EstimationError("method='cbsem' needs semopy: pip install 'semopy>=2.3'") from exc
    a = Aliases.of(spec)
    cols = [a(i) for i in spec.item_names]
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
    return st, np.asarray(model.param_vals, dtype=float).copy()


__all__ = ["Aliases", "BETA", "LAMBDA", "fit_semopy", "semopy_syntax", "structure"]
