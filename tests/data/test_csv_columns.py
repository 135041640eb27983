"""CSV feature columns: choosing them, errors for bad choices, the options round trip, and
prediction-time encoding of only the chosen columns."""

import numpy as np
import pytest

from nnstudio.data import DatasetError, load_dataset, read_csv, read_csv_features
from nnstudio.data.tabular import read_csv as read_csv_from_tabular

HOUSES = """rooms,area,town,note,price
3,70.5,north,,cheap
4,95.0,south,big garden,dear
2,48.2,north,,cheap
5,120.0,east,x,dear
3,66.1,south,,cheap
4,101.3,east,pool,dear
"""


def write(tmp_path, text, name="houses.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_chosen_columns_are_the_only_features(tmp_path):
    table = read_csv(write(tmp_path, HOUSES), columns=["area", "town"])
    assert table.feature_names == ["area", "town=east", "town=north", "town=south"]
    assert table.x.shape == (6, 4)
    np.testing.assert_allclose(table.x[0], [70.5, 0, 1, 0], rtol=1e-6)
    assert table.encoding["feature_columns"] == ["area", "town"]
    assert [e["column"] for e in table.encoding["features"]] == ["area", "town"]
    assert table.class_names == ["cheap", "dear"]


def test_columns_by_index_keep_file_order(tmp_path):
    table = read_csv(write(tmp_path, HOUSES), columns=[1, 0, -4])  # -4 is "area" again
    assert table.feature_names == ["rooms", "area"]
    np.testing.assert_allclose(table.x[:, 0], [3, 4, 2, 5, 3, 4])


def test_left_out_column_with_gaps_needs_no_imputation(tmp_path):
    # "note" has empty cells: loading all columns stops, leaving it out loads.
    with pytest.raises(DatasetError, match="note"):
        read_csv(write(tmp_path, HOUSES))
    table = read_csv(write(tmp_path, HOUSES), columns=["rooms", "area"])
    assert table.x.shape == (6, 2)


def test_default_is_every_column_but_the_target(tmp_path):
    text = HOUSES.replace(",,", ",n,")
    table = read_csv(write(tmp_path, text), target="rooms")
    assert [e["column"] for e in table.encoding["features"]] == ["area", "town", "note", "price"]
    assert table.encoding["feature_columns"] == ["area", "town", "note", "price"]


def test_unknown_column_is_named_with_the_columns_there_are(tmp_path):
    with pytest.raises(DatasetError) as error:
        read_csv(write(tmp_path, HOUSES), columns=["area", "garden"])
    message = str(error.value)
    assert "'garden'" in message
    assert "rooms, area, town, note, price" in message
    with pytest.raises(DatasetError, match="index from 0 to 4"):
        read_csv(write(tmp_path, HOUSES), columns=[7])


def test_target_among_the_columns_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="target column 'price' is also among the feature"):
        read_csv(write(tmp_path, HOUSES), columns=["area", "price"])
    with pytest.raises(DatasetError, match="target column 'area'"):
        read_csv(write(tmp_path, HOUSES), target="area", columns=[1])


def test_empty_selection_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="no feature columns chosen") as error:
        read_csv(write(tmp_path, HOUSES), columns=[])
    assert "rooms, area, town, note" in str(error.value)


def test_public_names_stay_importable_from_tabular():
    from nnstudio.data.tabular import (  # noqa: F401
        IMPUTE_METHODS,
        MISSING,
        Table,
        encode_rows,
        encode_target,
        read_npz,
    )

    assert read_csv_from_tabular is read_csv
    assert "drop" in IMPUTE_METHODS and "na" in MISSING


def test_load_dataset_records_columns_and_recreates_the_set(tmp_path):
    path = write(tmp_path, HOUSES * 1 + HOUSES.split("\n", 1)[1] * 4)
    dataset = load_dataset(f"csv:{path}", columns=["rooms", "town"], test_fraction=0.2)
    assert dataset.feature_names == ["rooms", "town=east", "town=north", "town=south"]
    assert dataset.input_shape == (4,)
    assert dataset.options["columns"] == ["rooms", "town"]
    again = load_dataset(dataset.name, **dataset.options)
    assert again.feature_names == dataset.feature_names
    np.testing.assert_array_equal(again.x_train, dataset.x_train)
    np.testing.assert_array_equal(again.y_test, dataset.y_test)


def test_load_dataset_without_columns_keeps_options_unchanged(tmp_path):
    path = write(tmp_path, HOUSES.replace(",,", ",n,") * 1)
    dataset = load_dataset(f"csv:{path}", val_fraction=0.0, test_fraction=0.0)
    assert "columns" not in dataset.options
    assert dataset.input_shape[0] > 4


def test_load_dataset_errors_name_the_column(tmp_path):
    path = write(tmp_path, HOUSES)
    with pytest.raises(DatasetError, match="'size'"):
        load_dataset(f"csv:{path}", columns=["size"])


def test_prediction_encodes_only_the_chosen_columns(tmp_path):
    table = read_csv(write(tmp_path, HOUSES), columns=["area", "town"])
    expected = np.array([[80.0, 1, 0, 0], [50.0, 0, 0, 1]], np.float32)
    # A file with every column (the unused one with gaps and text) and no target.
    full = write(tmp_path, "rooms,area,town,note\n9,80,east,\n1,50,south,hello\n", "new.csv")
    np.testing.assert_allclose(read_csv_features(full, table.encoding), expected)
    # Columns in another order, extra columns, target present: found by name.
    shuffled = write(tmp_path, "town,price,area,extra\neast,?,80,1\nsouth,?,50,2\n", "s.csv")
    np.testing.assert_allclose(read_csv_features(shuffled, table.encoding), expected)
    # No header: all columns, all but the target, or only the chosen ones.
    all_columns = write(tmp_path, "9,80,east,,cheap\n1,50,south,x,dear\n", "a.csv")
    no_target = write(tmp_path, "9,80,east,\n1,50,south,x\n", "b.csv")
    only_chosen = write(tmp_path, "80,east\n50,south\n", "c.csv")
    for path in (all_columns, no_target, only_chosen):
        np.testing.assert_allclose(read_csv_features(path, table.encoding), expected)


def test_prediction_file_without_a_chosen_column_is_explained(tmp_path):
    table = read_csv(write(tmp_path, HOUSES), columns=["area", "town"])
    path = write(tmp_path, "rooms,area\n3,70\n", "new.csv")
    with pytest.raises(DatasetError, match="lacks the column 'town'"):
        read_csv_features(path, table.encoding)
