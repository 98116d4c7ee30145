"""The registry of public datasets: names, splits, canonical URLs and SHA-256 (from the mirror README).

Relative paths are identical to the layout of the local mirror (`../shared/datasets`), so a data
directory is either `./data` filled by `harassflag data fetch` or a mirror given by `--data-dir`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import DatasetError


class RemoteFile(NamedTuple):
    """One file of a dataset: where it lives in a data dir, where to download it, its SHA-256."""

    relpath: str
    url: str
    sha256: str | None
    """None when no hash is registered: such a file is never downloaded nor read."""


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: its files per split and the heads it has labels for."""

    name: str
    description: str
    heads: tuple[str, ...]
    splits: Mapping[str, tuple[RemoteFile, ...]]
    aliases: Mapping[str, str] = field(default_factory=dict)
    mirrored: tuple[str, ...] = ()
    """Splits present in the shared read-only mirror (test splits are deliberately not)."""
    license: str = ""
    loader: str = ""
    """Key of the loader function; defaults to `name` (lets a test registry reuse a loader)."""

    def canonical_split(self, split: str) -> str:
        """The split's canonical name (`val` -> `dev` for HatEval); DatasetError if unknown."""
        split = self.aliases.get(split, split)
        if split not in self.splits:
            known = sorted(set(self.splits) | set(self.aliases))
            raise DatasetError(
                f"{self.name}: unknown split {split!r}; known splits: {', '.join(known)}"
            )
        return split

    def files(self, split: str) -> tuple[RemoteFile, ...]:
        """Files a split is read from (canonical or alias split name)."""
        return self.splits[self.canonical_split(split)]

    def all_files(self) -> list[RemoteFile]:
        """Every file of every split, without duplicates, in registry order."""
        seen: dict[str, RemoteFile] = {}
        for files in self.splits.values():
            for remote in files:
                seen.setdefault(remote.relpath, remote)
        return list(seen.values())

    def rehashed(self, hashes: Mapping[str, str]) -> DatasetSpec:
        """A copy whose files registered under `hashes` (relpath -> sha256) use those hashes.

        Meant for tests and private mirrors: build a fixture data dir with the same layout and
        register the fixtures' hashes, so every load still verifies SHA-256.
        """
        return self._mapped(lambda f: f._replace(sha256=hashes.get(f.relpath, f.sha256)))

    def rebased(self, base_url: str) -> DatasetSpec:
        """A copy downloading every file from `base_url` + relpath (a private mirror, a test server)."""
        base = base_url.rstrip("/") + "/"
        return self._mapped(lambda f: f._replace(url=base + f.relpath))

    def _mapped(self, fn) -> DatasetSpec:  # type: ignore[no-untyped-def]
        splits = {s: tuple(fn(f) for f in files) for s, files in self.splits.items()}
        return dataclasses.replace(self, splits=splits, loader=self.loader or self.name)


_DAVIDSON_URL = (
    "https://raw.githubusercontent.com/t-davidson/hate-speech-and-offensive-language/"
    "master/data/labeled_data.csv"
)
_OLID_URL = (
    "https://raw.githubusercontent.com/wenliangdai/multi-task-offensive-language-detection/"
    "master/OLIDv1.0/olid-training-v1.0.tsv"
)
_HATEVAL_BASE = "https://raw.githubusercontent.com/melody6140/Erin/main/dataset/"
_TWEETEVAL_BASE = "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/"

_TWEETEVAL_SHA256 = {
    "offensive/train_text.txt": "78a7a32e38b10af7d8970b008bf17f661c8d0a90dad145fa0fa6a944669650db",
    "offensive/train_labels.txt": "c0b7d6ebdaa4ebcf6fc557ef1e775d92eda160218a0e3b1dd48eb8234dc892a6",
    "offensive/val_text.txt": "816f36d180c35f15a5104838cb73856a0bef42043482fe738f3481b06242a55c",
    "offensive/val_labels.txt": "ed2deb776bd1c52fb8221fadd3360e32d9dfe46842d78053528126e46363a258",
    "offensive/test_text.txt": "25b08c3333c26190f1023961c4508ec9aab24d4722b1a3ea7a6040724c120547",
    "offensive/test_labels.txt": "41d05a7aa0b01f5dafab21b95adb4f979cb4226c046ff315702774d10dac1605",
    "offensive/mapping.txt": "3e427f483dd5d5be21ae85dcf224c36b3d024af27999939fa0d438d695801c50",
    "hate/train_text.txt": "6572bb3a42143128a5dfa99af8debeb0668e637c34b2d1e3140dac47316fe2c2",
    "hate/train_labels.txt": "4e8fde025a453a25c94632794254131dedeac4e57228ad64157c41571cc88f71",
    "hate/val_text.txt": "1ff78b1ed4c5ce43284b9eba32eb7d60c6d45d0d1b3b4d6df456ae01640764f1",
    "hate/val_labels.txt": "5092badf1a0e70036ea6264bcd0b78afc07d0f4a512fa6af34c2c4973600656b",
    "hate/test_text.txt": "bc4762876a8dd8baa55c3cd7b03108e3231a5d691e80b8b1ef97c5be31b9da9a",
    "hate/test_labels.txt": "c14adca6b3627616a835c5ccea8a1cceb0235cd79417257f093eb0e16a69c62f",
    "hate/mapping.txt": "3fc75504ffae64ddc82e13afb5790af7798cd3167d7d35790abe78b39b991896",
}


def _tweeteval(task: str, name: str) -> RemoteFile:
    key = f"{task}/{name}"
    return RemoteFile(f"tweeteval/{key}", _TWEETEVAL_BASE + key, _TWEETEVAL_SHA256[key])


def _tweeteval_splits(task: str) -> dict[str, tuple[RemoteFile, ...]]:
    return {
        split: (_tweeteval(task, f"{split}_text.txt"), _tweeteval(task, f"{split}_labels.txt"))
        for split in ("train", "val", "test")
    }


_DAVIDSON = RemoteFile(
    "davidson/labeled_data.csv",
    _DAVIDSON_URL,
    "fcb8bc7c68120ae4af04a5b9acd58585513ede11e1548ebf36a5c2040b6f6281",
)
_OLID = RemoteFile(
    "olid/olid-training-v1.0.tsv",
    _OLID_URL,
    "d976bd6faf7800571d06aa4fda00c11c1d39e6fd139747067f683d0c6e76d31f",
)
_OFFENSIVE_VAL_TEXT = _tweeteval("offensive", "val_text.txt")


def _hateval(name: str, sha256: str | None) -> RemoteFile:
    return RemoteFile(f"hateval/{name}", _HATEVAL_BASE + name, sha256)


DATASETS: dict[str, DatasetSpec] = {
    "davidson": DatasetSpec(
        name="davidson",
        description="Davidson et al. 2017: 24,783 tweets, hate / offensive / neither "
        "(train/val = seeded stratified 90/10 split)",
        heads=("hate", "offensive"),
        splits={"train": (_DAVIDSON,), "val": (_DAVIDSON,)},
        mirrored=("train", "val"),
        license="MIT",
    ),
    "olid": DatasetSpec(
        name="olid",
        description="OLID / OffensEval 2019 training set (13,240 tweets, levels a/b/c); "
        "val = the tweets of TweetEval offensive val",
        heads=("harassment", "hate", "offensive"),
        # The TweetEval val text decides which OLID rows are val (no leakage into TweetEval val).
        splits={"train": (_OLID, _OFFENSIVE_VAL_TEXT), "val": (_OLID, _OFFENSIVE_VAL_TEXT)},
        mirrored=("train", "val"),
        license="CC BY 4.0 (OffensEval 2019)",
    ),
    "hateval": DatasetSpec(
        name="hateval",
        description="SemEval 2019 Task 5 HatEval English: hate against immigrants and women, "
        "with target (TR) and aggressiveness (AG)",
        heads=("harassment", "hate", "offensive"),
        splits={
            "train": (
                _hateval(
                    "hateval2019_en_train.csv",
                    "a065e84a09cd0add23f220c100dde986c33b3cda9103450f00413f14502fcb72",
                ),
            ),
            "dev": (
                _hateval(
                    "hateval2019_en_dev.csv",
                    "b14d36618d5ff72fb25eae9a90735c84d27bb934b08867cf5e295dfe49404279",
                ),
            ),
            # The mirror README registers no SHA-256 for the test file: it is never fetched or read.
            "test": (_hateval("hateval2019_en_test.csv", None),),
        },
        aliases={"val": "dev"},
        mirrored=("train", "dev"),
        license="SemEval 2019 Task 5 terms (research use)",
    ),
    "tweeteval-offensive": DatasetSpec(
        name="tweeteval-offensive",
        description="TweetEval offensive (OffensEval 2019 level A): 0 not-offensive, 1 offensive",
        heads=("offensive",),
        splits=_tweeteval_splits("offensive"),
        mirrored=("train", "val"),
        license="see cardiffnlp/tweeteval",
    ),
    "tweeteval-hate": DatasetSpec(
        name="tweeteval-hate",
        description="TweetEval hate (SemEval 2019 HatEval): 0 not-hate, 1 hate",
        heads=("hate",),
        splits=_tweeteval_splits("hate"),
        mirrored=("train", "val"),
        license="see cardiffnlp/tweeteval",
    ),
}
"""Every public dataset by name."""


def get_spec(name: str, registry: Mapping[str, DatasetSpec] | None = None) -> DatasetSpec:
    """The spec of `name` in `registry` (default DATASETS); DatasetError naming the known ones."""
    reg = DATASETS if registry is None else registry
    try:
        return reg[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(reg))}") from None


def dataset_files(
    name: str, split: str, registry: Mapping[str, DatasetSpec] | None = None
) -> list[RemoteFile]:
    """The files `name`'s `split` is read from."""
    return list(get_spec(name, registry).files(split))
