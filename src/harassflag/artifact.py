"""Model artifacts: `models/<name>/model.joblib` + `manifest.json`, saved atomically, loaded verified.

joblib/pickle runs code when it loads, so `load_model` checks the file's SHA-256 against the
manifest *before* unpickling, and refuses a model saved under another scikit-learn version.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import shutil
import tempfile
import warnings
from datetime import UTC, datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import joblib

from .errors import ModelError, ModelIntegrityError, ModelVersionError

if TYPE_CHECKING:
    from .model import Model

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
DEFAULT_MODEL_DIR = Path("models") / "default"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def runtime_versions() -> dict[str, str]:
    """Versions of everything a pickled model depends on."""
    return {
        "harassflag": _version("harassflag"),
        "python": platform.python_version(),
        "scikit-learn": _version("scikit-learn"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "nltk": _version("nltk"),
        "joblib": _version("joblib"),
    }


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_model_path() -> Path:
    """$HARASSFLAG_MODEL, else models/default."""
    env = os.environ.get("HARASSFLAG_MODEL")
    return Path(env) if env else DEFAULT_MODEL_DIR


def save_model(model: Model, directory: str | Path) -> Path:
    """Write the model and its manifest into `directory` atomically (temp folder + rename)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        from .features import FEATURE_VERSION

        joblib.dump({"format": FORMAT_VERSION, "feature_version": FEATURE_VERSION,
                     "pipeline": model.pipeline, "weights": model.weights}, tmp / MODEL_FILE, compress=3)
        digest = sha256_file(tmp / MODEL_FILE)
        created = datetime.now(UTC).replace(microsecond=0)
        manifest = dict(model.manifest)
        manifest.update(
            {
                "format_version": FORMAT_VERSION,
                "feature_version": FEATURE_VERSION,
                "name": directory.name,
                "model_version": f"{created:%Y%m%d%H%M%S}-{digest[:8]}",
                "created": created.isoformat(),
                "versions": runtime_versions(),
                "sha256": digest,
                "size_bytes": (tmp / MODEL_FILE).stat().st_size,
            }
        )
        with open(tmp / MANIFEST_FILE, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True, default=_json_default)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        old = None
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model.manifest = manifest
    model.sha256 = digest
    model.path = str(directory)
    return directory


def _json_default(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_manifest(path: str | Path | None = None) -> dict:
    """The manifest of the model at `path` (no unpickling)."""
    directory = Path(path) if path is not None else default_model_path()
    if directory.is_file():
        directory = directory.parent
    mf = directory / MANIFEST_FILE
    if not mf.exists():
        raise ModelError(f"no model at {directory} (missing {MANIFEST_FILE}); train one with `harassflag train`")
    try:
        return json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable manifest {mf}: {exc}") from None


def load_model(path: str | Path | None = None, *, allow_version_mismatch: bool = False) -> Model:
    """Load a model folder after verifying its SHA-256 and scikit-learn version.

    Objects alive at that point are frozen out of the cyclic garbage collector (`gc.freeze`).
    """
    directory = Path(path) if path is not None else default_model_path()
    if directory.is_file():
        directory = directory.parent
    manifest = read_manifest(directory)
    artifact = directory / MODEL_FILE
    if not artifact.exists():
        raise ModelError(f"no {MODEL_FILE} in {directory}")
    expected = manifest.get("sha256")
    actual = sha256_file(artifact)
    if not expected or actual != expected:
        raise ModelIntegrityError(
            f"{artifact}: SHA-256 {actual} does not match the manifest ({expected}); refusing to load it "
            "(a pickle runs code when loaded)"
        )
    from .features import FEATURE_VERSION
    from .model import Model

    if manifest.get("feature_version") != FEATURE_VERSION:
        raise ModelVersionError(
            f"{directory} was saved with feature format {manifest.get('feature_version')}, this harassflag "
            f"uses {FEATURE_VERSION}: retrain it with `harassflag train`"
        )
    saved = manifest.get("versions", {}).get("scikit-learn")
    here = _version("scikit-learn")
    if saved != here and not allow_version_mismatch:
        raise ModelVersionError(
            f"{directory} was saved with scikit-learn {saved}, this is {here}: retrain it with "
            "`harassflag train`, or load with allow_version_mismatch=True at your own risk"
        )
    with warnings.catch_warnings():
        if not allow_version_mismatch:
            try:
                from sklearn.exceptions import InconsistentVersionWarning

                warnings.simplefilter("error", InconsistentVersionWarning)
            except ImportError:  # pragma: no cover - very old scikit-learn
                pass
        try:
            payload = joblib.load(artifact)
        except Exception as exc:  # a verified file that still fails is a real incompatibility
            raise ModelVersionError(f"{artifact} could not be loaded here: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ModelError(f"{artifact}: unknown artifact format")
    model = Model(payload["pipeline"], payload["weights"], manifest=manifest, sha256=actual, path=str(directory))
    model.featurizer.prepare()  # lookup tables built now, not on the first request
    # The model's vocabularies and the libraries behind it are a few hundred thousand long-lived
    # objects; left in the collector's generations, every full collection walks them all again
    # (measured: scoring 7-18% and explaining ~35% slower). Freezing only exempts what exists now
    # from the cyclic collector; reference counting still frees a replaced model.
    gc.freeze()
    return model
