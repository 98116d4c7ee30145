"""Public datasets (registry, verified download, one loader each) and your own labelled files."""

from __future__ import annotations

from .download import download_file, fetch_dataset
from .loaders import load_dataset, tweet_key
from .own import BadRow, load_labelled_file
from .registry import DATASETS, DatasetSpec, RemoteFile, dataset_files, get_spec
from .store import DATA_DIR_ENV, VerifyResult, resolve_data_dir, verify_datasets

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "BadRow",
    "DatasetSpec",
    "RemoteFile",
    "VerifyResult",
    "dataset_files",
    "download_file",
    "fetch_dataset",
    "get_spec",
    "load_dataset",
    "load_labelled_file",
    "resolve_data_dir",
    "tweet_key",
    "verify_datasets",
]
