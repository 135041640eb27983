"""CSV and NPZ files: detection, encoding, and a clear message for every kind of bad input."""

import numpy as np
import pytest

from nnstudio.data import DatasetError, load_dataset, read_csv, read_csv_features, read_npz

IRIS_LIKE = """sepal,petal,colour,species
5.1,1.4,red,setosa
4.9,1.3,blue,setosa
6.3,4.7,red,versicolor
6.4,4.5,green,versicolor
7.1,5.9,blue,virginica
7.7,6.7,red,virginica
"""


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_header_numeric_and_categorical_features(tmp_path):
    table = read_csv(write(tmp_path, IRIS_LIKE))
    assert table.task == "classification"
    assert table.feature_names == ["sepal", "petal", "colour=blue", "colour=green", "colour=red"]
    assert table.class_names == ["setosa", "versicolor", "virginica"]
    assert table.y.tolist() == [0, 0, 1, 1, 2, 2] and table.y.dtype == np.int64
    assert table.x.dtype == np.float32 and table.x.shape == (6, 5)
    np.testing.assert_allclose(table.x[0], [5.1, 1.4, 0, 0, 1], rtol=1e-6)
    colour = table.encoding["features"][2]
    assert colour == {
        "column": "colour",
        "kind": "categorical",
        "categories": ["blue", "green", "red"],
        "fill": None,
    }


def test_no_header_is_detected(tmp_path):
    table = read_csv(write(tmp_path, "1,2,0\n3,4,1\n5,6,1\n"))
    assert table.feature_names == ["column 1", "column 2"]
    assert table.x.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert table.class_names == ["0", "1"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    text = IRIS_LIKE.replace(",", delimiter)
    table = read_csv(write(tmp_path, text))
    assert table.encoding["delimiter"] == delimiter
    assert table.x.shape == (6, 5)


def test_decimal_comma_with_semicolons(tmp_path):
    table = read_csv(write(tmp_path, "a;b;y\n1,5;2;0\n2,25;3;1\n"))
    np.testing.assert_allclose(table.x[:, 0], [1.5, 2.25])


def test_integer_class_labels_keep_their_names(tmp_path):
    table = read_csv(write(tmp_path, "a,digit\n0.5,7\n0.1,3\n0.9,5\n0.2,3\n"))
    assert table.class_names == ["3", "5", "7"]
    assert table.y.tolist() == [2, 0, 1, 0]


def test_float_target_is_regression(tmp_path):
    table = read_csv(write(tmp_path, "a,b,price\n1,2,10.5\n3,4,20.25\n5,6,30\n"))
    assert table.task == "regression" and table.class_names is None
    assert table.y.shape == (3, 1) and table.y.dtype == np.float32


def test_target_by_name_index_and_negative_index(tmp_path):
    path = write(tmp_path, IRIS_LIKE)
    assert read_csv(path, target="colour").class_names == ["blue", "green", "red"]
    assert read_csv(path, target=2).class_names == ["blue", "green", "red"]
    assert read_csv(path, target=-2).class_names == ["blue", "green", "red"]
    assert read_csv(path, target="0", task="regression").feature_names[0] == "petal"


def test_missing_target_column_lists_the_columns(tmp_path):
    with pytest.raises(
        DatasetError,
        match=r"data.csv has no column 'label'. Its columns are: "
        r"sepal, petal, colour, species \(or an index from 0 to 3\)",
    ):
        read_csv(write(tmp_path, IRIS_LIKE), target="label")


def test_ragged_row_names_its_line(tmp_path):
    text = IRIS_LIKE.replace("6.4,4.5,green,versicolor", "6.4,4.5,versicolor")
    with pytest.raises(DatasetError, match=r"data.csv, line 5: 3 fields, but line 1 has 4"):
        read_csv(write(tmp_path, text))


def test_text_in_a_numeric_column_names_line_column_and_value(tmp_path):
    rows = "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20))
    text = "a,b,y\n" + rows.replace("7,14,1", "7,fourteen,1")
    with pytest.raises(
        DatasetError,
        match=r"data.csv, line 9, column 'b': 'fourteen' is not a "
        r"number, but the other values of this column are numbers",
    ):
        read_csv(write(tmp_path, text))


def test_missing_values_are_rejected_with_line_and_column(tmp_path):
    text = IRIS_LIKE.replace("6.3,4.7", "6.3,")
    expected = r"line 4, column 'petal': missing value .*imputation: mean"
    with pytest.raises(DatasetError, match=expected):
        read_csv(write(tmp_path, text))


@pytest.mark.parametrize(
    ("impute", "expected"), [("mean", 3.94), ("median", 4.5), ("most_frequent", 1.3)]
)
def test_missing_values_imputed_on_request(tmp_path, impute, expected):
    text = IRIS_LIKE.replace("6.3,4.7,red", "6.3,NA,").replace("5.1,1.4", "5.1,1.3")
    text = text.replace("7.1,5.9,blue", "7.1,5.9,red")  # red is the most frequent colour
    table = read_csv(write(tmp_path, text), impute=impute)
    assert table.x[2, 1] == pytest.approx(expected, abs=1e-5)
    assert table.x[2, 2:].tolist() == [0, 0, 1]  # colour filled with the most frequent, red
    assert table.encoding["features"][1]["fill"] == pytest.approx(expected)


def test_drop_rows_with_missing_values(tmp_path):
    text = IRIS_LIKE.replace("6.3,4.7,red", "6.3,?,red").replace(
        "7.7,6.7,red,virginica", "7.7,6.7,red,"
    )
    table = read_csv(write(tmp_path, text), impute="drop")
    assert len(table.y) == 4


def test_missing_target_value(tmp_path):
    text = IRIS_LIKE.replace("4.9,1.3,blue,setosa", "4.9,1.3,blue,")
    with pytest.raises(DatasetError, match=r"line 3: the target column 'species' is empty"):
        read_csv(write(tmp_path, text), impute="mean")


def test_empty_and_blank_files(tmp_path):
    with pytest.raises(DatasetError, match=r"empty.csv is empty \(0 bytes\)"):
        read_csv(write(tmp_path, "", "empty.csv"))
    with pytest.raises(DatasetError, match="holds no data"):
        read_csv(write(tmp_path, "\n\n  \n", "blank.csv"))
    with pytest.raises(DatasetError, match="header line but no data lines"):
        read_csv(write(tmp_path, "a,b,c\n", "header.csv"))


def test_single_column_needs_a_delimiter_hint(tmp_path):
    with pytest.raises(DatasetError, match="single column"):
        read_csv(write(tmp_path, "a\n1\n2\n"))


def test_one_class_only(tmp_path):
    text = "a,b,label\n1,2,yes\n3,4,yes\n5,6,yes\n"
    with pytest.raises(
        DatasetError,
        match=r"every sample has the same class \('yes'\); a "
        "classifier needs at least two classes",
    ):
        load_dataset(f"csv:{write(tmp_path, text)}")


def test_identifier_column_is_refused(tmp_path):
    text = "name,y\n" + "".join(f"person{i},{i % 2}\n" for i in range(150))
    with pytest.raises(DatasetError, match="'name' has 150 different text values"):
        read_csv(write(tmp_path, text))


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DatasetError, match="binary file, not CSV text"):
        read_csv(path)


def test_latin1_file_is_read(tmp_path):
    table = read_csv(write(tmp_path, "ville,y\nZürich,1\nGenève,0\n", encoding="latin-1"))
    assert table.feature_names == ["ville=Genève", "ville=Zürich"]


@pytest.mark.parametrize("reader", ["csv", "npz", "idx"])
def test_two_gigabyte_file_is_refused_at_once(tmp_path, reader, mnist_like):
    if reader == "idx":
        folder = mnist_like(tmp_path / "set")
        path, name = folder / "train-images-idx3-ubyte.gz", f"idx:{folder}"
    else:
        path = tmp_path / f"huge.{reader}"
        name = f"{reader}:{path}"
    with path.open("wb") as file:
        file.truncate(2 * 1024**3)  # sparse: no disk used
    with pytest.raises(
        DatasetError,
        match=rf"{path.name} is 2.0 GB, more than the 1.0 GB "
        "nnstudio loads into memory.*NNSTUDIO_MAX_FILE_MB",
    ):
        load_dataset(name)


def test_size_limit_is_configurable(tmp_path, monkeypatch):
    path = write(tmp_path, IRIS_LIKE)
    monkeypatch.setenv("NNSTUDIO_MAX_FILE_MB", "0.0001")
    with pytest.raises(DatasetError, match="more than the 104 bytes"):
        read_csv(path)


def test_prediction_rows_are_encoded_like_training(tmp_path):
    table = read_csv(write(tmp_path, IRIS_LIKE))
    np.testing.assert_array_equal(read_csv_features(tmp_path / "data.csv", table.encoding), table.x)
    new = write(tmp_path, "colour,petal,sepal\npurple,1.0,2.0\nred,3.0,4.0\n", "new.csv")
    x = read_csv_features(new, table.encoding)
    assert x.tolist() == [[2, 1, 0, 0, 0], [4, 3, 0, 0, 1]]  # unknown colour: all zeros


def test_csv_dataset_scaling_fitted_on_training_split(tmp_path):
    rng = np.random.default_rng(0)
    rows = "".join(f"{a:.4f},{b:.4f},{int(a > 5)}\n" for a, b in rng.normal(5, 2, (200, 2)))
    path = write(tmp_path, "a,b,y\n" + rows)
    ds = load_dataset(f"csv:{path}", seed=1)
    assert ds.scaling["method"] == "standardize"
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    assert abs(ds.x_val.mean()) > 1e-4  # the validation split is not used for the statistics
    assert ds.encoding["target"] == "y" and ds.feature_names == ["a", "b"]
    again = load_dataset(ds.name, **ds.options)
    np.testing.assert_array_equal(again.x_test, ds.x_test)


# --------------------------------------------------------------------------------------------
# NPZ


def test_npz_features_and_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(
        path,
        X=np.arange(20.0).reshape(10, 2),
        y=np.array([0, 1] * 5),
        class_names=np.array(["no", "yes"]),
        feature_names=np.array(["u", "v"]),
    )
    table = read_npz(path)
    assert table.task == "classification" and table.class_names == ["no", "yes"]
    assert table.feature_names == ["u", "v"] and table.x.dtype == np.float32


def test_npz_images_and_one_hot_targets(tmp_path):
    path = tmp_path / "img.npz"
    images = np.full((6, 8, 8), 255, np.uint8)
    np.savez(path, X=images, y=np.eye(3)[[0, 1, 2, 0, 1, 2]])
    table = read_npz(path)
    assert table.x.shape == (6, 1, 8, 8) and table.x.max() == 1.0
    assert table.y.tolist() == [0, 1, 2, 0, 1, 2]
    ds = load_dataset(f"npz:{path}", val_fraction=0, test_fraction=0)
    assert ds.is_image and ds.scaling == {"method": "none"}


def test_npz_regression_targets(tmp_path):
    path = tmp_path / "r.npz"
    np.savez(path, X=np.zeros((5, 3)), y=np.linspace(0, 1, 10).reshape(5, 2))
    table = read_npz(path)
    assert table.task == "regression" and table.y.shape == (5, 2)


def test_npz_missing_arrays_are_listed(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, inputs=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(DatasetError, match="has arrays inputs, labels; it needs X"):
        read_npz(path)


def test_npz_never_unpickles(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DatasetError, match="stores Python objects, which nnstudio never loads"):
        read_npz(path)


def test_npz_length_mismatch_and_not_an_archive(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(DatasetError, match="X has 4 samples but y has 3"):
        read_npz(path)
    bad = write(tmp_path, "not a zip at all", "bad.npz")
    with pytest.raises(DatasetError, match="bad.npz is not a NumPy .npz archive"):
        read_npz(bad)


def test_npz_nan_input_is_located(tmp_path):
    path = tmp_path / "d.npz"
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    np.savez(path, X=x, y=np.array([0, 1, 0, 1]))
    with pytest.raises(DatasetError, match=r"X\[2, 1\] is nan"):
        read_npz(path)


def test_lines_of_delimiters_only_are_skipped(tmp_path):
    table = read_csv(write(tmp_path, IRIS_LIKE + ",,,\n,,,\n"))
    assert len(table.y) == 6


def test_nan_text_counts_as_missing(tmp_path):
    text = IRIS_LIKE.replace("6.3,4.7", "6.3,nan")
    with pytest.raises(DatasetError, match=r"line 4, column 'petal': missing value"):
        read_csv(write(tmp_path, text))


def test_infinite_value_is_refused(tmp_path):
    text = IRIS_LIKE.replace("6.3,4.7", "6.3,inf")
    with pytest.raises(DatasetError, match=r"line 4, column 'petal': 'inf' is not a finite"):
        read_csv(write(tmp_path, text))


def test_reading_reports_progress(tmp_path):
    calls = []
    path = write(tmp_path, IRIS_LIKE)
    read_csv(path, progress=lambda done, total, message: calls.append((done, total, message)))
    size = path.stat().st_size
    assert calls[-1] == (size, size, "Reading data.csv")


# -- hostile CSV / NPZ / IDX files (issue 23) -----------------------------------------------------


def test_duplicate_header_names_are_refused_naming_the_duplicate(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,label\n1,2,x\n3,4,y\n")
    with pytest.raises(DatasetError, match="names column 'a' twice \\(columns 1 and 2\\)"):
        read_csv(path)  # before the fix: the second 'a' silently shadowed


def test_1e300_is_refused_without_a_runtime_warning(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,label\n1,2,x\n1e300,4,y\n")
    # pytest turns warnings into errors here, so a leaked RuntimeWarning fails this test.
    with pytest.raises(DatasetError, match="line 3, column 'a': '1e300' is not a finite"):
        read_csv(path)


def test_parsing_cost_is_estimated_before_reading(tmp_path):
    """A 100k × 500 table (~450 MB) would take ~5 GB to parse; refused from its first lines."""
    path = tmp_path / "wide.csv"
    row = ",".join(["0.123456"] * 499) + ",1\n"
    with open(path, "wb") as file:
        file.write((",".join(f"c{i}" for i in range(499)) + ",label\n").encode())
        file.write(row.encode() * 100)
        file.truncate(100_000 * len(row))
    with pytest.raises(DatasetError, match="parsing them needs about .* GB of memory"):
        read_csv(path)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
def test_a_fifo_or_device_is_named_not_read(tmp_path):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match="named pipe"):
        read_csv(fifo)
    with pytest.raises(DatasetError, match="character device"):
        read_csv("/dev/zero")  # before the fix: grew to 23 GB


@pytest.mark.parametrize("cell", ["inf", "1e309", "1e300", "nan"])
def test_prediction_rows_with_non_finite_values_name_row_and_column(tmp_path, cell):
    train = tmp_path / "train.csv"
    train.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    encoding = read_csv(train).encoding
    new = tmp_path / "new.csv"
    new.write_text(f"a,b\n1,2\n3,{cell}\n")
    # "nan" reads as a missing value (as in training), which this model has no fill for.
    words = "column 'b' has a missing value in row 2" if cell == "nan" else "is not a finite"
    with pytest.raises(
        DatasetError, match=words if cell == "nan" else f"row 2, column 'b': '{cell}' {words}"
    ):
        read_csv_features(new, encoding)  # before the fix: inf / NaN predictions, exit 0


def test_prediction_with_duplicate_header_is_refused(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("a,b,label\n1,2,x\n3,4,y\n")
    encoding = read_csv(train).encoding
    new = tmp_path / "new.csv"
    new.write_text("a,a,b\n1,9,2\n")
    with pytest.raises(DatasetError, match="names column 'a' twice"):
        read_csv_features(new, encoding)  # before the fix: the first 'a' used, the second ignored


@pytest.mark.parametrize(
    "damage, words",
    [
        ({"delimiter": 5}, "delimiter"),
        ({"features": 5}, "features"),
        (
            {"features": [{"column": "a", "kind": "categorical", "categories": 5}]},
            r"features\[0\]\.categories",
        ),
        ({"columns": None}, "columns"),
    ],
)
def test_a_damaged_encoding_names_the_field(tmp_path, damage, words):
    train = tmp_path / "train.csv"
    train.write_text("a,b,label\n1,2,x\n3,4,y\n")
    encoding = {**read_csv(train).encoding, **damage}
    with pytest.raises(DatasetError, match=f"preprocessing.encoding.{words}"):
        read_csv_features(train, encoding)  # before the fix: TypeError / KeyError


def test_npz_header_claiming_terabytes_is_refused(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))
    from hostile_corpus import npy_claiming, stored, write_zip

    path = write_zip(
        tmp_path / "d.npz",
        [stored("X.npy", npy_claiming((10**14,), bytes(8))), stored("y.npy", b"")],
    )
    with pytest.raises(DatasetError, match="declares shape"):
        read_npz(path)  # before the fix: MemoryError


def test_a_gzip_bomb_idx_is_refused_at_the_limit(tmp_path):
    import gzip

    from nnstudio.data.idx import IdxError, read_idx

    path = tmp_path / "bomb-idx1-ubyte.gz"
    header = bytes([0, 0, 8, 1]) + (64 * 2**20).to_bytes(4, "big")
    path.write_bytes(gzip.compress(header + bytes(64 * 2**20)))
    with pytest.raises(IdxError, match="expands to more than the 1.0 MB limit"):
        read_idx(path, max_bytes=2**20)
