"""The hostile ONNX corpus (hostile_onnx.py) through ``nnstudio import`` (issue 38): each file
is imported (exit 0, a model that loads) or refused in one line (exit 2) with ``--out`` left as
it was; mutated bytes of a good file are too. The bombs' peak memory stays under 1 GB."""

import sys

import pytest
from cli_runner import check_contract, note_outcome, run_cli
from hostile_onnx import build, build_model
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("onnx")

PEAK_LIMIT = 1 << 30
GOOD_OUT = b"a good model file the user keeps"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hostile-onnx"))


def test_every_hostile_onnx_file_is_imported_or_refused_leaving_out_alone(cases, tmp_path):
    from nnstudio.engine.io import load_model

    codes: dict[int, int] = {}
    for case in cases:
        out = tmp_path / "kept.nnz"
        out.write_bytes(GOOD_OUT)
        result = run_cli(["import", case.path, "--out", out])
        check_contract(result, case.expect, case.name)
        codes[result.code] = codes.get(result.code, 0) + 1
        if result.code == 0:
            load_model(out)  # what import writes, nnstudio reads
        else:
            assert out.read_bytes() == GOOD_OUT, case.name
    assert codes.get(2, 0) >= 20 and codes.get(0, 0) >= 3, codes
    print(f"\nonnx corpus: {len(cases)} files, exit codes {dict(sorted(codes.items()))}")


@pytest.mark.slow  # a fresh interpreter per bomb, importing onnx
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="os.wait4 maxrss in KB: Linux")
def test_onnx_bombs_stay_under_a_gigabyte(cases, tmp_path):
    from hostile_corpus import Run, run_in_subprocess

    heavy = [case for case in cases if case.heavy]
    assert heavy
    for case in heavy:
        run = Run(case.name, ["import", str(case.path), "--out", str(tmp_path / "o.nnz")])
        code, stderr, peak = run_in_subprocess(run)
        assert code in case.expect, f"{case.name}: {code} {stderr}"
        assert peak < PEAK_LIMIT, f"{case.name} peaked at {peak / 2**20:.0f} MB"


GOOD = build_model(
    [("Gemm", ["x", "W", "b"], "y", {}), ("Relu", ["y"], "z", {})],
    {
        "W": __import__("numpy").full((4, 3), 0.1, "float32"),
        "b": __import__("numpy").zeros(3, "float32"),
    },
)


@given(data=st.data())
def test_mutated_onnx_bytes_are_imported_or_refused_in_one_line(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("onnx-mutations", numbered=True)
    raw = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = folder / "m.onnx"
    path.write_bytes(bytes(raw))
    out = folder / "m.nnz"
    out.write_bytes(GOOD_OUT)
    result = run_cli(["import", path, "--out", out])
    note_outcome(result, "import")
    check_contract(result, what=f"mutated onnx {bytes(raw)[:60]!r}")
    if result.code != 0:
        assert out.read_bytes() == GOOD_OUT


def test_a_weight_of_an_unknown_data_type_is_refused_in_one_line(tmp_path):
    """Found by the long mode: one byte changed makes an initializer's data type 29, and
    onnx's numpy_helper raised KeyError: 29 (exit 1)."""
    import onnx

    proto = onnx.load_model_from_string(GOOD)
    proto.graph.initializer[0].data_type = 29
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    result = run_cli(["import", path, "--out", tmp_path / "m.nnz"])
    check_contract(result, frozenset({2}), "data type 29")
