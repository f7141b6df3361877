"""Tabular data files: CSV, NumPy .npy and AnnData .h5ad, read into a feature matrix and labels.

    --data cells.csv  --label-column cell_type     every other column is a numeric feature
    --data x.npy      --labels y.npy               x [N, ...] numeric (flattened to [N, D]), y [N]
    --data cells.h5ad --label-key bulk_labels      X (dense or sparse) and obs[KEY]; needs anndata

Every problem a user can cause (a missing file, a non-numeric or missing
value, a value beyond float32, a label column that does not exist, labels of
one class only) is a one-line GenlabError naming the file, the column and the
first offending row; a file that cannot be parsed at all (not UTF-8, a field
too large, an .npz renamed .npy) is refused at genlab.userfiles' boundary.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.userfiles import reading

SUFFIXES = (".csv", ".npy", ".h5ad")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # features are trained in float32
_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
# Which label option belongs to which file type, for one-line hints.
_LABEL_OPTION = {
    ".csv": ("label_column", "--label-column NAME"),
    ".npy": ("labels", "--labels LABELS.npy"),
    ".h5ad": ("label_key", "--label-key NAME"),
}


@dataclass
class Table:
    """A labelled feature matrix: `x` float32 [N, D], `y` int64 [N] indexing `classes`."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    features: tuple[str, ...]


def is_tabular(data: str) -> bool:
    """Whether a --data value names a tabular file (by its suffix) rather than a registered dataset."""
    return Path(data).suffix.lower() in SUFFIXES


def check_label_options(data: str, label_column: str | None, labels: str | None, label_key: str | None) -> None:
    """Fail early when a label option does not fit the kind of --data given, or the one it needs is absent."""
    given = {"label_column": label_column, "labels": labels, "label_key": label_key}
    flags = {"label_column": "--label-column", "labels": "--labels", "label_key": "--label-key"}
    suffix = Path(data).suffix.lower()
    if not is_tabular(data):
        extra = next((name for name, value in given.items() if value), None)
        if extra:
            raise GenlabError(
                f"{flags[extra]} applies to tabular files (.csv, .npy, .h5ad), not to the dataset '{data}'"
            )
        return
    needed, usage = _LABEL_OPTION[suffix]
    wrong = next((name for name, value in given.items() if value and name != needed), None)
    if wrong:
        raise GenlabError(f"{flags[wrong]} does not apply to {suffix} files; give {usage}")
    if not given[needed]:
        raise GenlabError(f"--data {data} needs its labels: give {usage}")


def read_table(
    path: str | Path, label_column: str | None = None, labels: str | None = None, label_key: str | None = None
) -> Table:
    """Read a tabular file (see the module docstring) into a Table."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"--data {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _read_csv(path, label_column)
    elif suffix == ".npy":
        table = _read_npy(path, Path(labels))
    elif suffix == ".h5ad":
        table = _read_h5ad(path, label_key)
    else:
        raise GenlabError(f"--data {path}: unknown file type; use a .csv, .npy or .h5ad file")
    if len(table.x) < 2:
        raise GenlabError(f"{path} holds {len(table.x)} row(s); a train/test split needs at least 2")
    if table.x.shape[1] < 1:
        raise GenlabError(f"{path} holds no feature columns")
    if len(table.classes) < 2:
        raise GenlabError(
            f"{path}: every row has the label '{table.classes[0]}'; a classifier needs at least two classes"
        )
    return table


def encode_labels(values: np.ndarray, categories: list | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes [N] and class names: `categories` order when given (unused ones dropped),
    else numeric order for integer-like labels, else sorted names."""
    names = np.asarray([str(v) for v in values])
    if categories is not None:
        order = [str(c) for c in categories if str(c) in set(names)]
    else:
        unique = sorted(set(names.tolist()))
        try:
            order = sorted(unique, key=lambda text: float(text))
        except ValueError:
            order = unique
    lookup = {name: index for index, name in enumerate(order)}
    return np.array([lookup[n] for n in names], dtype=np.int64), tuple(order)


def _read_csv(path: Path, label_column: str | None) -> Table:
    with reading(path, "save it as a UTF-8 CSV file with one value per field"), open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise GenlabError(f"{path} is empty; a CSV file needs a header row and data rows")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if label_column not in header:
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise GenlabError(f"--label-column '{label_column}' is not a column of {path.name}; its columns are: {shown}")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise GenlabError(f"{path.name} line {line} has {len(row)} fields but the header has {len(header)}")
    if not body:
        raise GenlabError(f"{path} has a header but no data rows")
    label_index = header.index(label_column)
    feature_index = [i for i in range(len(header)) if i != label_index]
    cells = np.array(body, dtype=object)
    label_values = np.array([v.strip() for v in cells[:, label_index]], dtype=object)
    missing_labels = np.flatnonzero([v.lower() in _MISSING for v in label_values])
    if len(missing_labels):
        raise GenlabError(
            f"{path.name}: label column '{label_column}' has {len(missing_labels)} missing value(s) "
            f"(first at line {missing_labels[0] + 2}); drop those rows first"
        )
    x = np.empty((len(body), len(feature_index)), dtype=np.float64)
    for out, column in enumerate(feature_index):
        x[:, out] = _numeric_column(path, header[column], cells[:, column])
    y, classes = encode_labels(label_values)
    return Table(x.astype(np.float32), y, classes, tuple(header[i] for i in feature_index))


def _numeric_column(path: Path, name: str, values: np.ndarray) -> np.ndarray:
    """One CSV column as float64, or a one-line error naming the first bad cell."""
    text = np.array([v.strip() for v in values])
    missing = np.flatnonzero([v.lower() in _MISSING for v in text])
    if len(missing):
        raise GenlabError(
            f"{path.name}: column '{name}' has {len(missing)} missing value(s) (first at line "
            f"{missing[0] + 2}); fill or drop them before training"
        )
    try:
        column = text.astype(np.float64)
    except ValueError:
        for line, value in enumerate(text, start=2):
            try:
                float(value)
            except ValueError:
                raise GenlabError(
                    f"{path.name}: column '{name}' is not numeric ('{value}' at line {line}); "
                    "features must be numbers: drop or encode that column"
                ) from None
        raise
    if not np.isfinite(column).all():
        bad = np.flatnonzero(~np.isfinite(column))
        raise GenlabError(
            f"{path.name}: column '{name}' holds infinite values (first at line {bad[0] + 2}); "
            "fill or drop them before training"
        )
    huge = np.flatnonzero(np.abs(column) > FLOAT32_MAX)
    if len(huge):
        raise GenlabError(
            f"{path.name}: column '{name}' holds {text[huge[0]]} at line {huge[0] + 2}, beyond float32 "
            f"(|x| <= {FLOAT32_MAX:.3g}); rescale that column"
        )
    return column


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise GenlabError(f"{what} {path}: no such file")
    with reading(path, "save it with numpy.save as a plain numeric or string array (not pickled, not .npz)"):
        array = np.load(path, allow_pickle=False)
    if not isinstance(array, np.ndarray):  # np.load opens an .npz archive whatever the file is called
        array.close()
        raise GenlabError(f"{what} {path} is an .npz archive, not an .npy array; save one array with numpy.save")
    return array


def _check_values(path: Path, x: np.ndarray) -> None:
    """Refuse a float64 matrix [N, D] with missing or infinite values, or values that float32 cannot hold."""
    bad_rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad_rows):
        raise GenlabError(
            f"{path.name} has missing or infinite values in {len(bad_rows)} row(s) "
            f"(first: row {bad_rows[0]}); fill or drop them before training"
        )
    huge_rows = np.flatnonzero((np.abs(x) > FLOAT32_MAX).any(axis=1))
    if len(huge_rows):
        raise GenlabError(
            f"{path.name} has values beyond float32 (|x| <= {FLOAT32_MAX:.3g}) in {len(huge_rows)} row(s) "
            f"(first: row {huge_rows[0]}); rescale them"
        )


def _read_npy(path: Path, labels_path: Path) -> Table:
    x = _load_npy(path, "--data")
    if x.ndim < 2 or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise GenlabError(
            f"{path.name} holds a {x.dtype} array of shape {x.shape}; expected numbers of shape [rows, features]"
        )
    if not len(x) or not x[0].size:
        raise GenlabError(f"{path.name} holds an array of shape {x.shape}; expected at least one row and one feature")
    x = x.reshape(len(x), -1).astype(np.float64)
    _check_values(path, x)
    y_raw = _load_npy(labels_path, "--labels")
    if y_raw.ndim != 1 or len(y_raw) != len(x):
        raise GenlabError(
            f"--labels {labels_path.name} has shape {y_raw.shape}; expected one label per row "
            f"of {path.name}, shape ({len(x)},)"
        )
    if y_raw.dtype.kind == "f" and np.isnan(y_raw).any():
        raise GenlabError(
            f"--labels {labels_path.name} has {np.isnan(y_raw).sum()} NaN label(s) (first: row "
            f"{np.flatnonzero(np.isnan(y_raw))[0]}); drop those rows first"
        )
    y, classes = encode_labels(y_raw)
    return Table(x.astype(np.float32), y, classes, tuple(f"feature {i}" for i in range(x.shape[1])))


def _read_h5ad(path: Path, label_key: str | None) -> Table:
    try:
        import anndata
    except ImportError:
        raise GenlabError(
            "reading .h5ad files needs the optional anndata package: "
            "pip install 'genlab[tabular]' (or export the data to CSV)"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anndata's notes about moving legacy fields are not the user's concern
        try:
            adata = anndata.read_h5ad(path)
        except Exception as error:  # h5py and anndata raise many types for a damaged file
            raise GenlabError(f"{path} is not a readable .h5ad file ({type(error).__name__}: {error})") from None
    if label_key not in adata.obs.columns:
        shown = ", ".join(map(str, adata.obs.columns[:12]))
        raise GenlabError(f"--label-key '{label_key}' is not a column of {path.name}'s obs; its columns are: {shown}")
    matrix = adata.X
    if matrix is None:
        raise GenlabError(f"{path} holds no expression matrix X; write the AnnData with its X")
    x = np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=np.float64)
    _check_values(path, x)
    column = adata.obs[label_key]
    if column.isna().any():
        raise GenlabError(
            f"{path.name}: obs['{label_key}'] has {int(column.isna().sum())} missing label(s); drop those cells first"
        )
    categories = list(column.cat.categories) if hasattr(column, "cat") else None
    y, classes = encode_labels(column.to_numpy(), categories)
    return Table(x.astype(np.float32), y, classes, tuple(map(str, adata.var_names)))
