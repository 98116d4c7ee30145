"""The artifact (issue 2, section 5): manifest, atomic save, verified load."""

from __future__ import annotations

import json
import os
import pickle
import platform
import shutil
from datetime import datetime
from pathlib import Path

import joblib
import pytest
import sklearn

from harassflag import load_model
from harassflag.artifact import FORMAT_VERSION, read_manifest, save_model, sha256_file
from harassflag.errors import HarassflagError, ModelError, ModelIntegrityError, ModelVersionError


@pytest.fixture()
def model_copy(tiny_model_dir, tmp_path) -> Path:
    """A private copy of the tiny model folder (tests may damage it)."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "models" / "tiny"))


def _edit_manifest(directory: Path, **changes) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# -- manifest ------------------------------------------------------------------------------------

def test_manifest_has_the_required_fields(tiny_model_dir) -> None:
    m = read_manifest(tiny_model_dir)
    assert m["format_version"] == FORMAT_VERSION
    for dist in ("harassflag", "python", "scikit-learn", "numpy", "nltk"):
        assert m["versions"][dist] not in (None, "", "unknown"), dist
    assert m["versions"]["scikit-learn"] == sklearn.__version__
    assert m["versions"]["python"] == platform.python_version()
    assert set(m["thresholds"]) == {"harassment", "hate", "offensive"}
    assert all(0.0 <= t <= 1.0 for t in m["thresholds"].values())
    assert m["sha256"] == sha256_file(tiny_model_dir / "model.joblib")
    assert datetime.fromisoformat(m["created"]).tzinfo is not None
    assert m["hyperparameters"]["C"] and "options" in m["hyperparameters"]
    val = m["metrics"]["val"]
    for head in ("harassment", "hate", "offensive"):
        for key in ("macro_f1", "precision", "recall", "brier", "ece", "threshold"):
            assert key in val[head], (head, key)
    for head, op in m["operating_points"].items():
        assert op["target_precision"] == 0.9, head
    assert m["flag_heads"] == ["harassment", "hate"]
    assert m["name"] == tiny_model_dir.name


def test_manifest_is_plain_json(tiny_model_dir) -> None:
    text = (tiny_model_dir / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text) == read_manifest(tiny_model_dir)
    assert "NaN" not in text, "NaN is not JSON; other tools cannot read the manifest"


# -- atomic save -----------------------------------------------------------------------------------

class _Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("this object refuses to be pickled")


@pytest.mark.parametrize("where", ["pipeline", "manifest"])
def test_a_crash_during_save_leaves_the_previous_model_intact(model_copy, where) -> None:
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    model = load_model(model_copy)
    if where == "pipeline":  # joblib.dump fails half-way through writing model.joblib
        model.pipeline.named_steps["features"].hook = _Unpicklable()
        expected = pickle.PicklingError
    else:  # model.joblib is written, the manifest then fails
        model.manifest["bad"] = object()
        expected = TypeError
    with pytest.raises(expected):
        save_model(model, model_copy)
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert _leftovers(model_copy.parent) == []
    assert load_model(model_copy).score("hi")


def test_a_crash_during_a_first_save_leaves_nothing(model_copy, tmp_path) -> None:
    model = load_model(model_copy)
    model.pipeline.named_steps["features"].hook = _Unpicklable()
    target = tmp_path / "fresh" / "new-model"
    with pytest.raises(pickle.PicklingError):
        save_model(model, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_saving_over_a_model_replaces_it_and_cleans_up(model_copy) -> None:
    model = load_model(model_copy)
    model.manifest["note"] = "second save"
    save_model(model, model_copy)
    assert read_manifest(model_copy)["note"] == "second save"
    assert sorted(p.name for p in model_copy.iterdir()) == ["manifest.json", "model.joblib"]
    assert _leftovers(model_copy.parent) == []
    assert load_model(model_copy).sha256 == model.sha256


# -- verified load ---------------------------------------------------------------------------------

def test_a_tampered_model_is_refused(model_copy) -> None:
    path = model_copy / "model.joblib"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        load_model(model_copy)


def test_a_manifest_without_a_hash_is_refused(model_copy) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    del manifest["sha256"]
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError):
        load_model(model_copy)


class _Payload:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _plant_payload(directory: Path, marker: Path) -> None:
    joblib.dump(_Payload(marker), directory / "model.joblib")


def test_the_payload_is_live_when_unpickled(tmp_path) -> None:
    # control: without the hash check this file would run code
    marker = tmp_path / "pwned"
    _plant_payload(tmp_path, marker)
    joblib.load(tmp_path / "model.joblib")
    assert marker.exists()


def test_a_malicious_pickle_with_a_wrong_hash_is_never_unpickled(model_copy, tmp_path) -> None:
    marker = tmp_path / "pwned"
    _plant_payload(model_copy, marker)  # the manifest still holds the old, now wrong, hash
    with pytest.raises(ModelIntegrityError):
        load_model(model_copy)
    assert not marker.exists()
    with pytest.raises(ModelIntegrityError):
        load_model(model_copy, allow_version_mismatch=True)
    assert not marker.exists()


def test_another_scikit_learn_version_is_refused(model_copy) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["versions"]["scikit-learn"] = "0.24.2"
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelVersionError) as err:
        load_model(model_copy)
    message = str(err.value)
    assert "0.24.2" in message and sklearn.__version__ in message
    assert "allow_version_mismatch" in message and "harassflag train" in message


def test_the_version_check_can_be_overridden(model_copy) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["versions"]["scikit-learn"] = "0.24.2"
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    model = load_model(model_copy, allow_version_mismatch=True)
    assert model.score("you are an idiot")[0].flagged


def test_a_missing_model_gives_a_helpful_error(tmp_path) -> None:
    with pytest.raises(ModelError) as err:
        load_model(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err.value)
    assert "harassflag train" in str(err.value)
    assert isinstance(err.value, HarassflagError) and err.value.exit_code != 0


def test_a_folder_without_model_joblib_is_refused(model_copy) -> None:
    (model_copy / "model.joblib").unlink()
    with pytest.raises(ModelError, match="model.joblib"):
        load_model(model_copy)


@pytest.mark.parametrize("content", ["", "{not json", "\xff\xfe"])
def test_an_unreadable_manifest_is_a_model_error(model_copy, content) -> None:
    (model_copy / "manifest.json").write_bytes(content.encode("latin-1"))
    with pytest.raises(ModelError, match="manifest"):
        load_model(model_copy)


def test_load_accepts_the_model_file_path(tiny_model_dir) -> None:
    assert load_model(tiny_model_dir / "model.joblib").sha256 == load_model(tiny_model_dir).sha256


def test_load_uses_harassflag_model_env(tiny_model_dir, monkeypatch) -> None:
    monkeypatch.setenv("HARASSFLAG_MODEL", str(tiny_model_dir))
    assert load_model().path == str(tiny_model_dir)


def test_default_model_location_is_models_default(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HARASSFLAG_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match=r"models[/\\]default"):
        load_model()


def test_vocabularies_are_saved_compactly_and_load_as_they_were(tiny_model_dir, tmp_path) -> None:
    """A model's vocabularies are pickled as one string of keys and an array of values each (fast to
    load); they load as the same dicts, and a model pickled with plain dicts still loads the same."""
    model = load_model(tiny_model_dir)
    fz = model.featurizer
    state = fz.__getstate__()
    for name in ("type_index_", "ngram_index_"):
        keys, values = state[name]
        assert isinstance(keys, str) and values.dtype.kind == "i" and len(values) == len(getattr(fz, name))
    again = pickle.loads(pickle.dumps(fz))
    assert again.type_index_ == fz.type_index_ and again.ngram_index_ == fz.ngram_index_
    assert list(again.type_index_) == list(fz.type_index_)  # dict order is type id order
    old_style = type(fz).__new__(type(fz))
    old_style.__setstate__({**state, "type_index_": dict(fz.type_index_), "ngram_index_": dict(fz.ngram_index_)})
    assert old_style.type_index_ == fz.type_index_ and old_style.ngram_index_ == fz.ngram_index_
    texts = ["you are an idiot", "gg well played", "I know where you live"]
    model.pipeline.steps[-1] = ("features", again)
    assert (model.score_matrix(texts) == load_model(tiny_model_dir).score_matrix(texts)).all()
