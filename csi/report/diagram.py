"""Layout of the path diagram: layers, curves and label places that keep every label readable.

Pure geometry (numpy only), in data units; :func:`csi.report.plots.plot_path_diagram`
draws it.  The steps follow the layered ("Sugiyama") drawing of directed graphs
(Sugiyama, Tagawa & Toda 1981, IEEE Trans. SMC 11(2):109-125):

1. every construct gets the layer of its longest incoming path (sources left);
2. constructs within a layer are ordered by the mean position of their
   neighbours (barycentre sweeps), which removes most crossings;
3. every path is a quadratic Bézier curve, straight when it can be, else bent
   just enough to miss every other box and to stay apart from the curves
   already placed (so two arrows never run on top of each other);
4. every path's label is put on its own curve at the first place, from the
   middle outwards, where its box overlaps no other label, no construct box
   and (if possible) no other curve; labels are measured in points and
   converted with the drawing's scale, so the check is on the real text size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LAYER_DX = 2.0  # horizontal distance of layers, data units
ROW_DY = 1.35  # vertical distance of constructs within a layer
BOX_H = 0.62
MIN_BOX_W = 1.2
CURVE_GAP = 0.14  # curves closer than this (data units) over a stretch count as running together


@dataclass(frozen=True)
class Layout:
    """Positions (centres), box sizes, curve control points and label centres, all in data units."""

    pos: dict[str, np.ndarray]
    size: dict[str, tuple[float, float]]
    control: dict[tuple[str, str], np.ndarray]
    label_at: dict[tuple[str, str], np.ndarray]
    label_size: dict[tuple[str, str], tuple[float, float]]

    def extent(self, pad: float = 0.15) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) holding every box, curve and label."""
        pts = [p + s * np.array([sx / 2, sy / 2]) for n, p in self.pos.items() for sx, sy in [self.size[n]]
               for s in (np.array([-1, -1]), np.array([1, 1]))]  # fmt: skip
        for (s, t), c in self.control.items():
            pts += list(bezier(self.pos[s], c, self.pos[t], np.linspace(0, 1, 41)))
        for e, p in self.label_at.items():
            w, h = self.label_size[e]
            pts += [p - [w / 2, h / 2], p + [w / 2, h / 2]]
        arr = np.array(pts)
        return (arr[:, 0].min() - pad, arr[:, 0].max() + pad, arr[:, 1].min() - pad, arr[:, 1].max() + pad)


def bezier(p0: np.ndarray, c: np.ndarray, p1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points of the quadratic Bézier curve ``p0 → p1`` with control ``c`` at parameters ``t``."""
    t = np.asarray(t, dtype=float)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p1


def layers(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layer of every construct (sources in layer 0); the model is acyclic."""
    layer = dict.fromkeys(names, 0)
    for _ in names:
        for s, t in edges:
            layer[t] = max(layer[t], layer[s] + 1)
    return layer


def order_layers(names: list[str], edges: list[tuple[str, str]], layer: dict[str, int]) -> list[list[str]]:
    """Constructs per layer, ordered by barycentre sweeps (down and up, four times)."""
    rows = [[n for n in names if layer[n] == k] for k in range(max(layer.values()) + 1)]
    nbrs: dict[str, list[str]] = {n: [] for n in names}
    for s, t in edges:
        nbrs[s].append(t)
        nbrs[t].append(s)
    for sweep in range(8):
        ks = range(1, len(rows)) if sweep % 2 == 0 else range(len(rows) - 2, -1, -1)
        rank = {n: i - (len(r) - 1) / 2 for r in rows for i, n in enumerate(r)}
        for k in ks:
            keyed = []
            for i, n in enumerate(rows[k]):
                others = [rank[m] for m in nbrs[n] if layer[m] != k]
                keyed.append((float(np.mean(others)) if others else rank[n], i, n))
            rows[k] = [n for _, _, n in sorted(keyed)]
            rank.update({n: i - (len(rows[k]) - 1) / 2 for i, n in enumerate(rows[k])})
    return rows


def positions(rows: list[list[str]], width: dict[str, float], label_w: float = 0.0) -> dict[str, np.ndarray]:
    """Centres: layers left to right; a layer's constructs stacked about 0.

    The gap between layers holds the widest coefficient label with room for
    the arrow on both sides.  A run of one-construct layers zigzags
    (±0.6 ROW_DY), so a path that skips a layer can pass between the boxes
    instead of through them.
    """
    widest = max(width.values())
    dx = max(LAYER_DX, widest + max(0.75, label_w + 0.55))
    pos = {}
    singles = 0
    for k, members in enumerate(rows):
        if len(members) == 1:
            pos[members[0]] = np.array([dx * k, 0.6 * ROW_DY * (1 if singles % 2 == 0 else -1)])
            singles += 1
        else:
            for j, n in enumerate(members):
                pos[n] = np.array([dx * k, ROW_DY * ((len(members) - 1) / 2 - j)])
    return pos


def _inside(points: np.ndarray, centre: np.ndarray, size: tuple[float, float], pad: float) -> np.ndarray:
    d = np.abs(points - centre)
    return (d[:, 0] <= size[0] / 2 + pad) & (d[:, 1] <= size[1] / 2 + pad)


def _curve_candidates(p0: np.ndarray, p1: np.ndarray) -> list[np.ndarray]:
    mid = (p0 + p1) / 2
    v = p1 - p0
    normal = np.array([-v[1], v[0]]) / np.linalg.norm(v)
    bends = [0.0]
    for b in (0.3, 0.55, 0.8, 1.05, 1.3, 1.6, 1.9, 2.3, 2.7, 3.2, 3.8, 4.5):
        bends += [b, -b]
    return [mid + b * normal for b in bends]


def route(pos: dict[str, np.ndarray], size: dict[str, tuple[float, float]],
          edges: list[tuple[str, str]]) -> dict[tuple[str, str], np.ndarray]:  # fmt: skip
    """A control point per path: the least bend that misses other boxes and keeps apart from placed curves."""
    t = np.linspace(0, 1, 61)
    inner = (t > 0.12) & (t < 0.88)
    placed: list[np.ndarray] = []
    out = {}
    # Short paths first: they are the ones that can be straight; long ones then bend around them.
    for s, e in sorted(edges, key=lambda se: float(np.linalg.norm(pos[se[1]] - pos[se[0]]))):
        others = [n for n in pos if n not in (s, e)]
        every = np.concatenate(placed) if placed else None
        starts = np.cumsum([0] + [len(p) for p in placed[:-1]]) if placed else None
        best, best_cost = None, np.inf
        for rank, c in enumerate(_curve_candidates(pos[s], pos[e])):
            pts = bezier(pos[s], c, pos[e], t)
            hits = sum(int(_inside(pts, pos[n], size[n], 0.12).any()) for n in others)
            close = near = 0.0
            if every is not None:
                dist = np.linalg.norm(pts[inner][:, None, :] - every[None, :, :], axis=2)
                per_curve = np.minimum.reduceat(dist, starts, axis=1)  # (points, placed curves)
                close = float(np.max(np.mean(per_curve < CURVE_GAP / 2, axis=0)))  # on top of another curve
                near = float(np.max(np.mean(per_curve < CURVE_GAP, axis=0)))
            cost = 100.0 * hits + 80.0 * close + (20.0 if close > 0.05 else 0.0) + 5.0 * near + rank * 0.05
            if cost < best_cost:
                best, best_cost = c, cost
        out[(s, e)] = best
        placed.append(bezier(pos[s], best, pos[e], t)[inner])
    return out


def _overlap(a: np.ndarray, asz: tuple[float, float], b: np.ndarray, bsz: tuple[float, float]) -> bool:
    return bool(abs(a[0] - b[0]) < (asz[0] + bsz[0]) / 2 and abs(a[1] - b[1]) < (asz[1] + bsz[1]) / 2)


def place_labels(pos: dict[str, np.ndarray], size: dict[str, tuple[float, float]],
                 control: dict[tuple[str, str], np.ndarray],
                 label_size: dict[tuple[str, str], tuple[float, float]]) -> dict[tuple[str, str], np.ndarray]:  # fmt: skip
    """A centre per label on (or, failing that, just beside) its own curve, overlapping no other text."""
    ts = [0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.21, 0.79]
    dense = np.linspace(0, 1, 121)
    curves = {e: bezier(pos[e[0]], c, pos[e[1]], dense) for e, c in control.items()}
    placed: dict[tuple[str, str], np.ndarray] = {}

    def candidates(e: tuple[str, str]) -> list[np.ndarray]:
        p0, c, p1 = pos[e[0]], control[e], pos[e[1]]
        on = [bezier(p0, c, p1, np.array([t]))[0] for t in ts]
        tangent = p1 - p0
        normal = np.array([-tangent[1], tangent[0]]) / np.linalg.norm(tangent)
        h = label_size[e][1]
        beside = [p + k * h * normal for p in on[:5] for k in (0.9, -0.9, 1.8, -1.8)]
        return on + beside

    def clashes(e: tuple[str, str], p: np.ndarray, other_curves: bool) -> bool:
        sz = label_size[e]
        if any(_overlap(p, sz, pos[n], (size[n][0] + 0.06, size[n][1] + 0.06)) for n in pos):
            return True
        if any(_overlap(p, sz, q, label_size[f]) for f, q in placed.items()):
            return True
        if other_curves:
            for f, pts in curves.items():
                if f != e and _inside(pts, p, sz, 0.0).any():
                    return True
        return False

    # Most constrained first: paths whose curve is short get their place before long ones.
    order = sorted(control, key=lambda e: float(np.linalg.norm(pos[e[1]] - pos[e[0]])))
    for e in order:
        cands = candidates(e)
        spot = next((p for p in cands if not clashes(e, p, True)), None)
        if spot is None:
            spot = next((p for p in cands if not clashes(e, p, False)), None)
        if spot is None:  # crowded: walk outwards from the middle along the normal until free
            p0, p1 = pos[e[0]], pos[e[1]]
            mid = bezier(p0, control[e], p1, np.array([0.5]))[0]
            normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / np.linalg.norm(p1 - p0)
            step = label_size[e][1] * 0.6
            spot = next(mid + k * step * s * normal for k in range(1, 400) for s in (1, -1)
                        if not clashes(e, mid + k * step * s * normal, False))  # fmt: skip
        placed[e] = spot
    return placed


def layout(names: list[str], edges: list[tuple[str, str]], box_width: dict[str, float],
           label_size: dict[tuple[str, str], tuple[float, float]], box_height: float = BOX_H) -> Layout:  # fmt: skip
    """The whole diagram: boxes ``box_width`` wide (data units), labels ``label_size`` (w, h) in data units."""
    layer = layers(names, edges)
    rows = order_layers(names, edges, layer)
    width = {n: max(MIN_BOX_W, box_width.get(n, MIN_BOX_W)) for n in names}
    pos = positions(rows, width, max((w for w, _ in label_size.values()), default=0.0))
    size = {n: (width[n], box_height) for n in names}
    control = route(pos, size, edges)
    at = place_labels(pos, size, control, label_size)
    return Layout(pos=pos, size=size, control=control, label_at=at, label_size=dict(label_size))
