"""Hypothesis strategies of hostile JSON values and of mutations of a JSON document."""

from __future__ import annotations

import copy
import json

from hypothesis import strategies as st

DEEP = "__DEEP_NESTING__"  # replaced in the JSON text: json.dumps itself would recurse

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 50),
    st.sampled_from([2**31, 2**80, -(2**63), 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e12, 1e300, -0.0]),
    st.text(max_size=12),
    st.sampled_from(["", "csv:/etc/shadow", "relu", "Dense", "standardize"]),
    st.just(5000).map(lambda n: "x" * n),  # a long text, echoed in no message whole
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=8,
) | st.just(DEEP)
depths = st.sampled_from([65, 1000, 100_000])


def paths_of(document, prefix=()) -> list[tuple]:
    """Every key path inside ``document`` (dict keys and list indices)."""
    found = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, (dict, list)) and value:
            found += paths_of(value, (*prefix, key))
    return found


@st.composite
def mutated(draw, document: dict, extra_keys=()) -> str:
    """JSON text of ``document`` with 1-3 values replaced, removed or added."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(document) + [(key,) for key in extra_keys]
        path = draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, (dict, list)):
            parent[path[-1]] = draw(json_values)
    depth = draw(depths)
    return json.dumps(document).replace(json.dumps(DEEP), "[" * depth + "]" * depth, 1)
