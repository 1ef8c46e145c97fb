"""Specific indirect effects: every chain of paths between two constructs and the product along it.

In a recursive path model with coefficient matrix ``B`` (``B[t, s]`` the path
``s -> t``), the total effect of ``s`` on ``t`` is ``[(I - B)^-1 - I]_ts``,
which expands into the sum over every directed chain ``s -> m_1 -> ... -> t``
of the product of the coefficients along it (Alwin & Hauser 1975; Bollen
1987).  A chain of one path is the direct effect; the chains of two or more
paths are the *specific indirect effects* (Preacher & Hayes 2008), and their
sum is the total indirect effect ``total - direct``.
"""

from __future__ import annotations

import numpy as np


def chains(D: np.ndarray) -> list[tuple[int, ...]]:
    """Every directed chain of two or more paths in the adjacency ``D (J, J)`` (``D[t, s] = 1``: ``s -> t``).

    Chains are tuples of construct indices from source to target, listed by
    source, then target, then length, then lexicographically; ``D`` must be
    acyclic (a validated spec is).
    """
    J = D.shape[0]
    succ = [np.flatnonzero(D[:, s]).tolist() for s in range(J)]
    out: list[tuple[int, ...]] = []
    # Iterative depth-first walk: a deep model must not hit the recursion limit.
    for s in range(J):
        stack: list[tuple[int, ...]] = [(s,)]
        while stack:
            chain = stack.pop()
            for t in succ[chain[-1]]:
                longer = chain + (t,)
                if len(longer) >= 3:
                    out.append(longer)
                stack.append(longer)
    return sorted(out, key=lambda c: (c[0], c[-1], len(c), c))


def chain_products(B: np.ndarray, found: list[tuple[int, ...]]) -> np.ndarray:
    """Product of the coefficients along each chain: ``(..., n_chains)`` from ``B (..., J, J)``."""
    out = np.ones(B.shape[:-2] + (len(found),))
    for k, chain in enumerate(found):
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            out[..., k] *= B[..., b, a]
    return out
