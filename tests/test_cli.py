"""The CLI through the installed console script (issue 2, section 7)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest

from conftest import synthetic_set
from harassflag.cli import COMMANDS, cli


def _script() -> str:
    # the real console script next to this interpreter (a pyenv shim adds ~1 s per call)
    here = Path(sysconfig.get_path("scripts")) / "harassflag"
    found = str(here) if here.exists() else shutil.which("harassflag")
    assert found, "the `harassflag` console script is not installed: pip install -e ."
    return found


def run(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="120", NO_COLOR="1")
    env.pop("HARASSFLAG_MODEL", None)
    return subprocess.run([_script(), *args], check=False, capture_output=True, text=True, input=stdin,
                          timeout=timeout, env=env, stdin=None if stdin is not None else subprocess.DEVNULL)


def _all_command_paths() -> list[tuple[str, ...]]:
    ctx = click.Context(cli)
    paths: list[tuple[str, ...]] = [()]

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, path + (name,)
                paths.append(path + (name,))
                walk(sub, path + (name,))

    walk(cli, ())
    return paths


COMMAND_PATHS = _all_command_paths()


def test_every_registered_command_is_reachable() -> None:
    assert {p[0] for p in COMMAND_PATHS if p} == set(COMMANDS)
    assert ("data", "list") in COMMAND_PATHS and ("review", "export") in COMMAND_PATHS


@pytest.fixture(scope="module")
def helps() -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda p: run(*p, "--help", timeout=120), COMMAND_PATHS)
        return dict(zip(COMMAND_PATHS, results))


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "harassflag")
def test_help_of_every_command(helps, path) -> None:
    r = helps[path]
    assert r.returncode == 0, r.stderr
    assert "Usage: harassflag" in r.stdout
    cmd = cli
    for name in path:
        cmd = cmd.get_command(click.Context(cmd), name)
    description = (cmd.help or "").strip().splitlines()[0]
    assert len(description) > 10, f"{' '.join(path)} has no description"
    assert description[:40] in " ".join(r.stdout.split())
    assert "Traceback" not in r.stderr


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and "harassflag" in r.stdout


# -- score and info --------------------------------------------------------------------------------

def test_score_prints_scores(tiny_model_dir) -> None:
    r = run("score", "--model", str(tiny_model_dir), "you are an idiot", "good game")
    assert r.returncode == 0, r.stderr
    for head in ("harassment=", "hate=", "offensive="):
        assert r.stdout.count(head) == 2
    assert "FLAGGED" in r.stdout and "idiot" in r.stdout


def test_score_json_parses(tiny_model_dir) -> None:
    r = run("score", "--model", str(tiny_model_dir), "--json", "you are an idiot", "good game")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert [row["text"] for row in rows] == ["you are an idiot", "good game"]
    assert rows[0]["flagged"] is True and rows[1]["flagged"] is False
    assert set(rows[0]["scores"]) == {"harassment", "hate", "offensive"} == set(rows[0]["categories"])
    for span in rows[0]["explanation"]:
        assert "you are an idiot"[span["start"] : span["end"]] == span["term"]


def test_score_reads_stdin(tiny_model_dir) -> None:
    r = run("score", "--model", str(tiny_model_dir), "--json", stdin="you are an idiot\n\ngood game\n")
    assert r.returncode == 0, r.stderr
    assert len([line for line in r.stdout.splitlines() if line.strip()]) == 2


def test_score_unknown_head_is_a_clean_error(tiny_model_dir) -> None:
    r = run("score", "--model", str(tiny_model_dir), "--head", "nope", "hi")
    assert r.returncode != 0 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_info_shows_thresholds(tiny_model_dir) -> None:
    r = run("info", str(tiny_model_dir))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tiny_model_dir / "manifest.json").read_text())
    assert "thresholds" in r.stdout
    for head, t in manifest["thresholds"].items():
        assert f"{head}={t:.3f}" in r.stdout
    assert manifest["sha256"] in r.stdout
    j = run("info", str(tiny_model_dir), "--json")
    assert json.loads(j.stdout) == manifest


@pytest.mark.parametrize("args", [("score", "--model", "{missing}", "hi"), ("info", "{missing}"),
                                  ("evaluate", "--model", "{missing}", "--dataset", "olid:val")])
def test_a_missing_model_is_a_one_line_error(tmp_path, args) -> None:
    missing = str(tmp_path / "no-such-model")
    r = run(*(a.format(missing=missing) for a in args))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and missing in lines[0], r.stderr


# -- train on your own file ------------------------------------------------------------------------

BAD_EMPTY_TEXT_LINE = 12  # header is line 1, so data row k is line k + 2
BAD_LABEL_LINE = 202


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory) -> Path:
    data = synthetic_set()
    rows = [[t, int(y)] for t, y in zip(data.texts, data.labels["harassment"])][:300]
    rows.insert(BAD_EMPTY_TEXT_LINE - 2, ["", 1])
    rows.insert(BAD_LABEL_LINE - 2, ["you are a clown", "maybe"])
    path = tmp_path_factory.mktemp("own") / "labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def test_train_on_a_file_reports_bad_rows_and_saves_a_model(train_csv, tmp_path) -> None:
    out = tmp_path / "own-model"
    r = run("train", "--train-file", str(train_csv), "--text-column", "text", "--label-column", "label",
            "--out", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert "2 bad row" in r.stderr
    assert f"{train_csv}:{BAD_EMPTY_TEXT_LINE}:" in r.stderr
    assert f"{train_csv}:{BAD_LABEL_LINE}:" in r.stderr and "maybe" in r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "model.joblib").exists()
    (ds,) = manifest["datasets"]
    assert ds["rows"] == 300
    assert ds["files"][0]["sha256"] and len(ds["files"][0]["sha256"]) == 64
    assert manifest["recipe"]["public"] is False
    s = run("score", "--model", str(out), "--json", "max you are a worthless idiot")
    assert json.loads(s.stdout)["categories"]["harassment"] is True


def test_train_strict_stops_at_the_first_bad_row(train_csv, tmp_path) -> None:
    out = tmp_path / "strict-model"
    r = run("train", "--train-file", str(train_csv), "--label-column", "label", "--out", str(out), "--strict")
    assert r.returncode != 0
    assert f"{BAD_EMPTY_TEXT_LINE}" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_train_with_a_missing_column_is_a_clean_error(train_csv, tmp_path) -> None:
    r = run("train", "--train-file", str(train_csv), "--text-column", "message", "--label-column", "label",
            "--out", str(tmp_path / "m"))
    assert r.returncode != 0 and "message" in r.stderr and "Traceback" not in r.stderr


# -- evaluate ---------------------------------------------------------------------------------------

def test_evaluate_writes_a_report_with_plots(tiny_model_dir, train_csv, tmp_path) -> None:
    report = tmp_path / "report"
    r = run("evaluate", "--model", str(tiny_model_dir), "--file", str(train_csv), "--label-column", "label",
            "--report", str(report))
    assert r.returncode == 0, r.stderr
    data = json.loads((report / "report.json").read_text())
    (per_scorer,) = data["sets"].values()
    (metrics,) = per_scorer.values()
    m = metrics["harassment"]
    for key in ("macro_f1", "precision", "recall", "f1", "roc_auc", "average_precision", "confusion"):
        assert key in m, key
    assert m["n"] == 300
    pngs = list(report.glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "macroF1" in r.stdout


def test_evaluate_on_the_seed_split_reports_issue_3_bars(tiny_model_dir, tmp_path) -> None:
    """The held-out seed split gets the three bars, with goal, value, ok/MISS and row counts."""
    import numpy as np

    from harassflag import load_model
    from harassflag.evaluate import model_scorer, seed_bars
    from harassflag.seed import load_seed

    report = tmp_path / "report"
    r = run("evaluate", "--model", str(tiny_model_dir), "--suite", "seed", "--report", str(report))
    assert r.returncode == 0, r.stderr
    bars = json.loads((report / "report.json").read_text())["bars"]["seed:test"]
    (ours,) = bars.values()
    test = load_seed("test")
    model = load_model(tiny_model_dir)
    pred = np.asarray([s.categories["harassment"] for s in model.score(test.texts)])
    y = test.labels["harassment"] == 1
    assert ours["harassment accuracy"]["value"] == pytest.approx((pred == y).mean())
    prof = np.asarray(test.meta["categories"]) == "untargeted_profanity"
    assert ours["false-positive rate, untargeted profanity"]["value"] == pytest.approx(pred[prof].mean())
    assert ours == seed_bars(model_scorer(model), test)
    for bar in ours:
        line = next(line for line in r.stdout.splitlines() if line.startswith(bar))
        assert ("ok" if ours[bar]["met"] else "MISS") in line and f"n={ours[bar]['n']}" in line


def test_evaluate_without_anything_to_evaluate_is_a_usage_error(tiny_model_dir, tmp_path) -> None:
    r = run("evaluate", "--model", str(tiny_model_dir), "--report", str(tmp_path / "r"))
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_python_dash_m_runs_the_same_cli(tiny_model_dir) -> None:
    import sys

    r = subprocess.run([sys.executable, "-m", "harassflag", "score", "--model", str(tiny_model_dir), "--json",
                        "you are an idiot"], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    from harassflag import load_model

    assert json.loads(r.stdout)["scores"] == load_model(tiny_model_dir).score("you are an idiot")[0].scores
    bad = subprocess.run([sys.executable, "-m", "harassflag", "score", "--model", "/nonexistent/model", "x"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_console_script_scores_like_the_library(tiny_model_dir) -> None:
    r = run("score", "--model", str(tiny_model_dir), "--json", "you are an idiot")
    from harassflag import load_model

    assert json.loads(r.stdout)["scores"] == load_model(tiny_model_dir).score("you are an idiot")[0].scores


def test_flag_heads_policy_is_stored_and_used(tmp_path, synthetic):
    """`--flag-heads` decides which heads flag a message; the model applies it when scoring."""
    from harassflag import load_model

    csv = tmp_path / "train.csv"
    rows = ["text,harassment,offensive"] + [
        f'"{t}",{h},{o}' for t, h, o in zip(synthetic.texts, synthetic.labels["harassment"],
                                            synthetic.labels["offensive"])]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "policy"
    r = run("train", "--train-file", str(csv), "--head-column", "harassment=harassment",
                "--head-column", "offensive=offensive", "--flag-heads", "offensive", "--out", str(out))
    assert r.returncode == 0, r.stderr
    model = load_model(out)
    assert model.flag_heads == ("offensive",)
    res = model.score(["this game is fucking broken", "thanks for the help"])
    assert [s.flagged for s in res] == [s.categories["offensive"] for s in res]
    bad = run("train", "--train-file", str(csv), "--label-column", "harassment", "--flag-heads", "nope",
                  "--out", str(tmp_path / "x"))
    assert bad.returncode != 0 and "--flag-heads" in bad.stderr
