"""Property tests: random valid specs survive TOML and lavaan round trips."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from csi.spec import (
    ITEM_TYPES,
    SIGNS,
    Construct,
    Covariance,
    Item,
    ModelSpec,
    Path,
    parse_lavaan,
    read_toml,
    render_lavaan,
    to_toml,
)

_construct_names = st.text(string.ascii_letters + "_", min_size=1, max_size=6).map(
    lambda s: "C_" + s
) | st.sampled_from(["SAT", "Zufriedenheit_ä", "x1"])
# Item names: mostly column-like, sometimes anything a CSV header could hold.
_item_names = st.from_regex(r"[a-z][a-z0-9_.]{0,6}", fullmatch=True) | st.text(min_size=1, max_size=8)
_text = st.text(max_size=20)
_number = st.integers(-100, 100) | st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def _item(draw, name: str) -> Item:
    scaled = draw(st.booleans())
    lo = hi = None
    if scaled:
        lo = draw(_number)
        hi = lo + draw(st.integers(1, 100) | st.floats(0.5, 1e3))
    return Item(
        name,
        lo,
        hi,
        reverse=scaled and draw(st.booleans()),
        missing_codes=tuple(draw(st.lists(_number, max_size=3))),
        type=draw(st.sampled_from(ITEM_TYPES)),
        label=draw(_text),
    )


@st.composite
def specs(draw) -> ModelSpec:
    cnames = draw(st.lists(_construct_names, min_size=1, max_size=6, unique=True))
    inames = draw(
        st.lists(
            _item_names.filter(lambda n: n not in cnames),
            min_size=len(cnames),
            max_size=len(cnames) + 10,
            unique=True,
        )
    )
    # Split the items into non-empty blocks; with too few distinct cut points, drop constructs.
    cut_points = st.lists(st.integers(1, max(len(inames) - 1, 1)), max_size=len(cnames) - 1, unique=True)
    cuts = sorted(draw(cut_points)) if len(inames) > 1 else []
    cnames = cnames[: len(cuts) + 1]
    bounds = [0, *cuts, len(inames)]
    constructs = tuple(
        Construct(
            c,
            tuple(draw(_item(n)) for n in inames[bounds[k] : bounds[k + 1]]),
            draw(st.sampled_from(["A", "B"])),
            draw(_text),
        )
        for k, c in enumerate(cnames)
    )
    # A random DAG: edges only from earlier to later positions of a random permutation.
    order = draw(st.permutations(cnames))
    pairs = [(order[i], order[j]) for i in range(len(order)) for j in range(i + 1, len(order))]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    paths = tuple(Path(s, t, draw(st.sampled_from(SIGNS))) for s, t in chosen)
    variables = list(cnames) + inames
    covs = tuple(
        Covariance(a, b)
        for a, b in draw(st.lists(st.tuples(st.sampled_from(variables), st.sampled_from(variables)), max_size=3))
    )
    return ModelSpec(
        name=draw(st.text(max_size=12)),
        constructs=constructs,
        paths=paths,
        target=draw(st.none() | st.sampled_from(cnames)),
        label=draw(_text),
        covariances=covs,
    )


@settings(max_examples=300, deadline=None)
@given(specs())
def test_toml_round_trip(spec):
    assert read_toml(to_toml(spec)) == spec


@settings(max_examples=300, deadline=None)
@given(specs())
def test_lavaan_round_trip(spec):
    assert parse_lavaan(render_lavaan(spec)) == spec
