"""The one Newton / Fisher-scoring loop of every CB-SEM objective, batched over independent problems.

Complete-data ML (:mod:`csi.estimators.cbsem_kernel`), FIML (:mod:`csi.estimators.cbsem_fiml`) and the
multiple-group discrepancy (:mod:`csi.estimators.cbsem_groups`) differ only in their objective, its gradient
and two curvature matrices; a single fit is a batch of one, a bootstrap block a batch of replicates.  An
objective is a :class:`Problem`: for the problems ``idx`` of the batch at points ``z (k, q)`` it returns

* ``value(z, idx) -> (k,)``: the discrepancy, ``inf`` outside the domain (an implied covariance that is
  not positive definite);
* ``gradient(z, idx) -> (k, q)``;
* ``expected(z, idx) -> (k, q, q)``: the expected Hessian (Fisher information; positive definite, so
  ``H^-1 g`` is always a descent direction: Fisher scoring, Lee & Jennrich 1979);
* ``observed(z, idx) -> (k, q, q)``: the exact Hessian (Newton steps; quadratic convergence near the
  optimum, where Fisher scoring converges only linearly at a rate set by the misfit).

:func:`minimise` is the loop; see its docstring for the step rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class Problem(Protocol):
    def value(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]: ...

    def gradient(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]: ...

    def expected(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]: ...

    def observed(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]: ...


class MemberProblem:
    """A :class:`Problem` whose members are evaluated one at a time (FIML, multiple groups): subclasses hold
    ``members`` (one data set per member of the batch) and define ``objective(z, member) -> (F, g or None)``
    and ``information(z, member)`` (the expected Hessian); the exact Hessian comes from central differences of
    the analytic gradient.  Subclasses are dataclasses of arrays, so a bootstrap worker can unpickle them."""

    members: list

    def objective(self, z: NDArray[np.float64], member) -> tuple[float, NDArray[np.float64] | None]:
        raise NotImplementedError

    def information(self, z: NDArray[np.float64], member) -> NDArray[np.float64]:
        raise NotImplementedError

    def _each(self, z, idx, f) -> NDArray[np.float64]:
        return np.array([f(z[i], self.members[j]) for i, j in enumerate(idx)])

    def value(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return self._each(z, idx, lambda x, m: self.objective(x, m)[0]).reshape(len(idx))

    def gradient(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return self._each(z, idx, lambda x, m: self.objective(x, m)[1])

    def expected(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return self._each(z, idx, self.information)

    def observed(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        def one(x, member):
            H = central_hessian(x, lambda y: self.objective(y, member)[1])
            return np.full((x.size, x.size), np.nan) if H is None else H  # NaN: the loop takes a Fisher step

        return self._each(z, idx, one)


@dataclass(frozen=True)
class ScoringResult:
    """Output of :func:`minimise` (batched like the start values)."""

    theta: NDArray[np.float64]
    F: NDArray[np.float64]
    iterations: NDArray[np.intp]
    converged: NDArray[np.bool_]


def minimise(
    z0: NDArray[np.float64],
    problem: Problem,
    batch: tuple[int, ...],
    *,
    tol: float = 1e-9,
    max_iter: int = 100,
    metric0: NDArray[np.float64] | None = None,
    refresh_rate: float = 0.25,
    newton_below: float = 1.0,
    halvings: int = 20,
    quasi_newton: bool = False,
) -> ScoringResult:
    """Minimise ``problem`` for every member of ``batch`` by (quasi-)Newton and Fisher-scoring steps.

    Each member carries a metric ``H`` and steps ``d = H^-1 g``:

    * it starts as ``metric0`` when given (a bootstrap passes the exact Hessian
      of the full-sample fit, which every replicate shares to O(n^-1/2)), else
      as the expected Hessian;
    * a step that is not a descent direction is replaced by the Fisher step,
      which always is, and the metric by the expected Hessian;
    * when a step below ``newton_below`` shrinks by less than ``refresh_rate``
      against the previous one, the metric is refreshed with the exact Hessian
      at the new point.

    With ``quasi_newton`` the exact Hessian is never recomputed: after every
    step the metric takes the BFGS update from the change of the gradient
    (Nocedal & Wright 2006, eq. 6.19; skipped when the curvature ``s'y`` is not
    positive), which from a good start (the full-sample Hessian) converges
    superlinearly at the price of one gradient per iteration: for objectives
    whose exact Hessian costs many gradients (FIML, multiple groups: central
    differences).

    A step is halved (at most ``halvings`` times) until it does not increase
    the objective.  Between refreshes an iteration costs one gradient.
    Finished members drop out of the batch; each follows its own path, so a
    member's result does not depend on the others.

    Parameters
    ----------
    z0 : (..., q)
        Starting values (broadcast against ``batch``).
    problem
        See the module docstring; its ``idx`` are positions in the flattened batch.
    batch
        Shape of the batch.
    tol
        Convergence when the largest absolute step ``max |d|`` falls below
        ``tol``; the estimates are then within about ``tol`` of the exact
        minimiser.
    max_iter
        Iteration limit; members that hit it are flagged not converged.
    metric0 : (q, q) or (..., q, q), optional
        Starting metric (broadcast against the batch).
    refresh_rate
        Step-size ratio above which the exact Hessian is recomputed; ``inf``
        never recomputes it (pure Fisher scoring when ``metric0`` is None).
    newton_below
        Largest step (max abs) after which the exact Hessian may be used; far
        from the optimum it is often indefinite and Fisher scoring is safer.
    halvings
        Most step halvings per iteration.
    quasi_newton
        BFGS updates of the metric instead of exact-Hessian refreshes.

    Returns
    -------
    ScoringResult
        A member stops unconverged when it hits ``max_iter`` or when even the
        halved Fisher step does not decrease the objective.
    """
    q = z0.shape[-1]
    theta = np.broadcast_to(z0, batch + (q,)).copy().reshape(-1, q)
    nb = theta.shape[0]
    everyone = np.arange(nb)
    F = np.asarray(problem.value(theta, everyone), dtype=np.float64)
    active = np.isfinite(F)
    converged = np.zeros(nb, dtype=bool)
    iters = np.zeros(nb, dtype=np.intp)
    last = np.full(nb, np.inf)
    metric = np.empty((nb, q, q))
    have = np.zeros(nb, dtype=bool)
    if metric0 is not None:
        metric[:] = np.broadcast_to(metric0, batch + (q, q)).reshape(-1, q, q)
        have[:] = True
    prev_theta, prev_g = np.empty((nb, q)), np.empty((nb, q))
    has_prev = np.zeros(nb, dtype=bool)
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        th, Fa = theta[idx], F[idx]
        fresh = ~have[idx]
        if fresh.any():
            sel = idx[fresh]
            metric[sel] = problem.expected(th[fresh], sel)
            have[sel] = True
        g = problem.gradient(th, idx)
        if quasi_newton:
            _bfgs_update(metric, idx[has_prev[idx]], th[has_prev[idx]] - prev_theta[idx[has_prev[idx]]],
                         g[has_prev[idx]] - prev_g[idx[has_prev[idx]]])  # fmt: skip
            prev_theta[idx], prev_g[idx], has_prev[idx] = th, g, True
        step = _solve(metric[idx], g)
        descent = np.all(np.isfinite(step), axis=-1) & (np.einsum("bk,bk->b", step, g) > 0)
        fisher_now = fresh.copy()
        if not descent.all():
            bad = ~descent
            fisher_now |= bad
            He = problem.expected(th[bad], idx[bad])
            metric[idx[bad]] = He
            step[bad] = _solve(He, g[bad])
        # Step halving: accept the first of d, d/2, d/4, ... that does not increase F.
        scale = np.ones(len(idx))
        new = th - step
        Fn = np.asarray(problem.value(new, idx), dtype=np.float64)
        for _ in range(halvings):
            worse = ~(Fn <= Fa + 1e-12 * np.abs(Fa))
            if not worse.any():
                break
            scale[worse] /= 2
            new[worse] = th[worse] - scale[worse, None] * step[worse]
            Fn[worse] = problem.value(new[worse], idx[worse])
        worse = ~(Fn <= Fa + 1e-12 * np.abs(Fa))
        new[worse], Fn[worse] = th[worse], Fa[worse]
        theta[idx], F[idx] = new, Fn
        iters[idx] += 1
        size = np.max(np.abs(scale[:, None] * step), axis=-1)
        done = (size < tol) & ~worse
        slow = ~done & ~worse & (size > refresh_rate * last[idx]) & (size < newton_below)
        last[idx] = size
        if slow.any() and not quasi_newton:
            sel = idx[slow]
            metric[sel] = problem.observed(new[slow], sel)
        # No descent even when halved: retry from the Fisher metric; if that was the Fisher step, stop (judged
        # by the caller through converged=False).
        have[idx[worse]] = False
        converged[idx[done]] = True
        active[idx[done | (worse & fisher_now)]] = False
    return ScoringResult(theta.reshape(batch + (q,)), F.reshape(batch), iters.reshape(batch), converged.reshape(batch))


def _bfgs_update(metric: NDArray[np.float64], sel: NDArray[np.intp], s: NDArray[np.float64], y: NDArray[np.float64]):
    """BFGS update ``H + y y'/(s'y) - H s s' H/(s'H s)`` of ``metric[sel]`` in place, where ``s'y > 0``."""
    if not sel.size:
        return
    H = metric[sel]
    Hs = np.einsum("bkl,bl->bk", H, s)
    sy, sHs = np.einsum("bk,bk->b", s, y), np.einsum("bk,bk->b", s, Hs)
    ok = (sy > 1e-14 * np.sqrt(np.einsum("bk,bk->b", s, s) * np.einsum("bk,bk->b", y, y))) & (sHs > 0)
    if ok.any():
        H[ok] += y[ok, :, None] * y[ok, None, :] / sy[ok, None, None]
        H[ok] -= Hs[ok, :, None] * Hs[ok, None, :] / sHs[ok, None, None]
        metric[sel[ok]] = H[ok]


def _solve(H: NDArray[np.float64], g: NDArray[np.float64]) -> NDArray[np.float64]:
    """``H^-1 g`` for a stack; a singular system in the stack falls back to the pseudo-inverse."""
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("bkl,bl->bk", np.linalg.pinv(H), g)


def central_hessian(
    z: NDArray[np.float64], gradient, h: float = 1e-5
) -> NDArray[np.float64] | None:
    """Hessian by central differences of an analytic ``gradient(z) -> (q,) or None`` (relative step ``h``),
    symmetrised; None where a gradient cannot be evaluated (outside the domain)."""
    k = z.size
    H = np.empty((k, k))
    for j in range(k):
        step = h * max(1.0, abs(z[j]))
        e = np.zeros(k)
        e[j] = step
        gp, gm = gradient(z + e), gradient(z - e)
        if gp is None or gm is None:
            return None
        H[:, j] = (gp - gm) / (2 * step)
    return (H + H.T) / 2


__all__ = ["MemberProblem", "Problem", "ScoringResult", "central_hessian", "minimise"]
