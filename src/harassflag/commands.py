"""Core commands: train, evaluate, score, info (thin wrappers over the library)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import BadInputError

DATA_DIR_HELP = "Read datasets from this local mirror (same layout; hashes verified). Env: HARASSFLAG_DATA_DIR."


def _say(msg: str) -> None:
    click.echo(f"[harassflag] {msg}", err=True)


def _parse_head_columns(values: tuple[str, ...]) -> dict[str, str] | None:
    out = {}
    for v in values:
        head, sep, col = v.partition("=")
        if not sep:
            raise click.BadParameter(f"expected HEAD=COLUMN, got {v!r}", param_hint="--head-column")
        out[head.strip()] = col.strip()
    return out or None


def _report_bad_rows(bad: list, path: str) -> None:
    if not bad:
        return
    _say(f"{path}: skipped {len(bad)} bad row(s)")
    for row in bad[:10]:
        _say(f"  {row.path}:{row.line}: {row.reason}")
    if len(bad) > 10:
        _say(f"  ... and {len(bad) - 10} more")


@click.command()
@click.option("--out", "out", default="models/default", show_default=True, type=click.Path(file_okay=False),
              help="Model folder to write (atomically).")
@click.option("--data-dir", envvar="HARASSFLAG_DATA_DIR", type=click.Path(file_okay=False), help=DATA_DIR_HELP)
@click.option("--train-file", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Your own labelled CSV, JSONL or Parquet file (repeatable). Replaces the public data "
                   "unless --with-public is given.")
@click.option("--text-column", default="text", show_default=True, help="Text column of --train-file.")
@click.option("--label-column", default=None, help="A 0/1 column of --train-file for the harassment head.")
@click.option("--head-column", multiple=True, metavar="HEAD=COLUMN",
              help="One column per head, e.g. hate=is_hate (repeatable).")
@click.option("--strict", is_flag=True, help="Stop at the first bad row of --train-file instead of skipping it.")
@click.option("--with-public/--no-public", default=None,
              help="Include the public datasets (default: yes, unless --train-file is given).")
@click.option("--seed/--no-seed", "use_seed", default=True, show_default=True,
              help="Include the curated seed set (harassment vs banter, threats, coercion...).")
@click.option("--seed-weight", type=float, default=None,
              help="Row weight of the seed set.  [default: the recipe's, 6.0]")
@click.option("--feedback", multiple=True,
              help="Moderator decisions: a JSONL from `harassflag review export`, or a database URL.")
@click.option("--feedback-weight", default=5.0, show_default=True, help="Row weight of feedback rows.")
@click.option("--c", "c_grid", default="1,2,4", show_default=True,
              help="Comma-separated values of C tried per head (chosen on validation data).")
@click.option("--jobs", default=2, show_default=True, help="Parallel fits.")
@click.option("--flag-heads", default="harassment,hate", show_default=True,
              help="Policy: heads whose positive decision sets `flagged` (e.g. harassment,hate,offensive).")
def train(out, data_dir, train_file, text_column, label_column, head_column, strict, with_public, use_seed,
          seed_weight, feedback, feedback_weight, c_grid, jobs, flag_heads) -> None:
    """Train a model (default: all public datasets + the seed set -> models/default)."""
    from .artifact import save_model
    from .recipes import RecipeOptions, build_training_sets
    from .train import TrainOptions, fit_model

    own = []
    for path in train_file:
        from .datasets import load_labelled_file

        data, bad = load_labelled_file(path, text_column=text_column, label_column=label_column,
                                       head_columns=_parse_head_columns(head_column), strict=strict)
        _report_bad_rows(bad, path)
        own.append(data)
    feedback_sets = []
    for src in feedback:
        from .review.feedback import load_feedback

        feedback_sets.append(load_feedback(src))
    public = with_public if with_public is not None else not train_file
    try:
        grid = tuple(float(x) for x in c_grid.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"not a list of numbers: {c_grid!r}", param_hint="--c") from None
    recipe = RecipeOptions(data_dir=data_dir, public=public, seed=use_seed and (public or not train_file),
                           seed_weight=RecipeOptions.seed_weight if seed_weight is None else seed_weight,
                           own=own, feedback=feedback_sets, feedback_weight=feedback_weight)
    _say("loading training data")
    train_set, val_set = build_training_sets(recipe)
    _say(f"training rows: {len(train_set)}; validation rows: {len(val_set) if val_set else 'holdout'}")
    from .heads import HEADS

    policy = tuple(h.strip() for h in flag_heads.split(",") if h.strip())
    unknown = [h for h in policy if h not in HEADS]
    if unknown or not policy:
        raise click.BadParameter(f"heads are {', '.join(HEADS)}; got {flag_heads!r}", param_hint="--flag-heads")
    model = fit_model(train_set, val_set, TrainOptions(c_grid=grid, n_jobs=jobs, flag_heads=policy),
                      progress=_say)
    model.manifest["datasets"] = train_set.meta.get("sources", [])
    model.manifest["validation_sets"] = val_set.meta.get("sources", []) if val_set else []
    model.manifest["recipe"] = {"public": public, "seed": recipe.seed, "seed_weight": recipe.seed_weight,
                                "train_files": list(train_file), "feedback_weight": feedback_weight}
    if feedback_sets:
        model.manifest["feedback"] = [
            {"source": str(src), "rows": len(fb), "sha256": fb.meta.get("sha256")}
            for src, fb in zip(feedback, feedback_sets)
        ]
    path = save_model(model, out)
    _say(f"saved {path} (sha256 {model.sha256[:16]}…, {model.manifest['size_bytes'] / 1e6:.1f} MB)")
    _print_val_metrics(model.manifest)


def _print_val_metrics(manifest: dict) -> None:
    rows = manifest.get("metrics", {}).get("val", {})
    click.echo(f"{'head':<12}{'thresh':>8}{'macroF1':>9}{'prec':>7}{'recall':>8}{'AUC':>7}{'Brier':>7}{'ECE':>7}")
    for head, m in rows.items():
        if not m or "macro_f1" not in m:
            continue
        click.echo(f"{head:<12}{m['threshold']:>8.3f}{m['macro_f1']:>9.3f}{m['precision']:>7.3f}{m['recall']:>8.3f}"
                   f"{m['roc_auc']:>7.3f}{m['brier']:>7.3f}{m['ece']:>7.3f}")


def _load(model_path: str | None, allow_version_mismatch: bool = False):
    from .artifact import load_model

    return load_model(model_path, allow_version_mismatch=allow_version_mismatch)


MODEL_OPTION = click.option("--model", "model_path", default=None, type=click.Path(),
                            help="Model folder (default: $HARASSFLAG_MODEL or models/default).")


@click.command()
@MODEL_OPTION
@click.option("--dataset", "datasets", multiple=True, metavar="NAME:SPLIT",
              help="A registered dataset split, e.g. tweeteval-offensive:val (repeatable).")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Your own labelled file (CSV/JSONL/Parquet; --text-column/--label-column).")
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default=None)
@click.option("--suite", type=click.Choice(["functional", "seed", "public", "all"]), default=None,
              help="functional: the functional test suite; seed: the held-out seed split; public: every "
                   "mirrored validation split; all: everything.")
@click.option("--feedback", default=None, help="Feedback JSONL or database URL: compare with --baseline "
              "on its held-out part.")
@click.option("--baseline", default=None, type=click.Path(), help="A second model to report beside --model.")
@click.option("--compare-peer", is_flag=True, help="Put alt-profanity-check beside the model (if installed).")
@click.option("--data-dir", envvar="HARASSFLAG_DATA_DIR", type=click.Path(file_okay=False), help=DATA_DIR_HELP)
@click.option("--report", "report_dir", default=None, type=click.Path(file_okay=False),
              help="Write report.json and PNG plots here (default: reports/<model>-<time>).")
def evaluate(model_path, datasets, files, text_column, label_column, suite, feedback, baseline, compare_peer,
             data_dir, report_dir) -> None:
    """Evaluate a model: per-head metrics, functional suite, optional peer and baseline comparison."""
    from datetime import datetime

    from .evaluate import (
        category_accuracy,
        evaluate_set,
        functional_results,
        model_scorer,
        peer_scorer,
        seed_bars,
        strip_private,
        write_plots,
        write_report,
    )

    model = _load(model_path)
    scorers = [model_scorer(model, progress=True)]
    if baseline:
        scorers.append(model_scorer(_load(baseline), progress=True))
        scorers[-1].name += " (baseline)"
    if compare_peer:
        peer = peer_scorer()
        if peer is None:
            raise click.ClickException("alt-profanity-check is not installed: pip install 'harassflag[bench]'")
        scorers.append(peer)

    sets = _evaluation_sets(datasets, files, text_column, label_column, suite, feedback, data_dir)
    if not sets and suite not in ("functional", "all"):
        raise click.UsageError("nothing to evaluate: give --dataset, --file, --suite or --feedback")
    out_dir = Path(report_dir or f"reports/{model.name}-{datetime.now():%Y%m%d-%H%M%S}")
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"model": {"name": model.name, "version": model.version, "sha256": model.sha256},
                    "sets": {}, "functional": {}}
    for data in sets:
        click.echo(f"\n== {data.name} ({len(data)} rows)")
        click.echo(f"{'scorer':<34}{'head':<12}{'macroF1':>8}{'prec':>7}{'recall':>7}{'AUC':>7}{'AP':>7}{'acc':>7}")
        for scorer in scorers:
            res = evaluate_set(scorer, data)
            for head, m in res.items():
                click.echo(f"{scorer.name[:33]:<34}{head:<12}{m['macro_f1']:>8.3f}{m['precision']:>7.3f}"
                           f"{m['recall']:>7.3f}{m['roc_auc']:>7.3f}{m['average_precision']:>7.3f}{m['accuracy']:>7.3f}")
            report["sets"].setdefault(data.name, {})[scorer.name] = strip_private(res)
            if scorer is scorers[0]:
                write_plots(res, out_dir, data.name)
        if data.meta.get("categories"):
            table = {s.name: category_accuracy(s, data) for s in scorers}
            click.echo(f"{'category (harassment decision)':<32}{'label':>6}{'n':>5}"
                       + "".join(f"{s.name[:22]:>24}" for s in scorers))
            for cat in sorted(next(iter(table.values()))):
                first = table[scorers[0].name][cat]
                click.echo(f"{cat:<32}{first['expected']:>6}{first['n']:>5}"
                           + "".join(f"{table[s.name][cat]['accuracy']:>24.3f}" for s in scorers))
            report.setdefault("categories", {})[data.name] = table
            if "offensive" in data.heads_present():
                bars = {s.name: seed_bars(s, data) for s in scorers}
                click.echo(f"{'bar (issue 3)':<44}{'goal':>8}" + "".join(f"{s.name[:22]:>24}" for s in scorers))
                for bar, first in bars[scorers[0].name].items():
                    click.echo(f"{bar:<44}{first['direction'] + ' ' + format(first['goal'], '.2f'):>8}"
                               + "".join(f"{_bar_cell(bars[s.name][bar]):>24}" for s in scorers))
                report.setdefault("bars", {})[data.name] = bars
    if suite in ("functional", "all"):
        from .seed import load_functional

        cases = load_functional()
        click.echo(f"\n== functional suite ({len(cases)} cases): accuracy per functionality")
        table = {s.name: functional_results(s, cases) for s in scorers}
        names = sorted(next(iter(table.values())))
        click.echo(f"{'functionality':<28}{'label':>6}{'n':>5}" + "".join(f"{s.name[:22]:>24}" for s in scorers))
        for f in names:
            first = table[scorers[0].name][f]
            click.echo(f"{f:<28}{first['expected']:>6}{first['n']:>5}"
                       + "".join(f"{table[s.name][f]['accuracy']:>24.3f}" for s in scorers))
        report["functional"] = table
    path = write_report(report, out_dir)
    click.echo(f"\nreport: {path}")


def _bar_cell(bar: dict) -> str:
    return f"{bar['value']:.3f} {'ok' if bar['met'] else 'MISS'} (n={bar['n']})"


def _evaluation_sets(datasets, files, text_column, label_column, suite, feedback, data_dir):
    from .datasets import load_dataset, load_labelled_file

    sets = []
    for spec in datasets:
        name, _, split = spec.partition(":")
        sets.append(load_dataset(name, split or "val", data_dir=data_dir))
    for f in files:
        data, bad = load_labelled_file(f, text_column=text_column, label_column=label_column)
        _report_bad_rows(bad, f)
        sets.append(data)
    if suite in ("seed", "all"):
        from .seed import load_seed

        sets.append(load_seed("test"))
    if suite in ("public", "all"):
        for spec in ("tweeteval-offensive:val", "hateval:dev", "olid:val", "davidson:val"):
            name, _, split = spec.partition(":")
            sets.append(load_dataset(name, split, data_dir=data_dir))
    if feedback:
        from .recipes import feedback_holdout
        from .review.feedback import load_feedback

        sets.append(feedback_holdout(load_feedback(feedback)))
    return sets


@click.command()
@MODEL_OPTION
@click.argument("texts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option("--head", default="harassment", show_default=True, help="Head whose explanation is shown.")
def score(model_path, texts, as_json, head) -> None:
    """Score messages given as arguments (or one per line on stdin) and explain them."""
    if not texts:
        if sys.stdin.isatty():
            raise click.UsageError("give messages as arguments or on standard input")
        texts = tuple(line.rstrip("\n") for line in sys.stdin if line.strip())
    model = _load(model_path)
    if head not in model.heads:
        raise BadInputError(f"unknown head {head!r}; heads: {', '.join(model.heads)}")
    for text, result in zip(texts, model.score(list(texts))):
        spans = model.explain(text, head=head, top=5)
        if as_json:
            click.echo(json.dumps({"text": text, "scores": result.scores, "categories": result.categories,
                                   "flagged": result.flagged,
                                   "explanation": [s._asdict() for s in spans]}, ensure_ascii=False))
            continue
        marked, last = [], 0
        for s in sorted(spans, key=lambda s: s.start):
            if s.start < last:
                continue
            marked.append(text[last : s.start])
            marked.append(click.style(text[s.start : s.end], bold=True, underline=True, fg="red"))
            last = s.end
        marked.append(text[last:])
        flag = click.style("FLAGGED", fg="red", bold=True) if result.flagged else click.style("ok", fg="green")
        click.echo(f"{flag:<8} {''.join(marked)}")
        click.echo("         " + "  ".join(
            f"{h}={p:.3f}{'*' if result.categories[h] else ''}" for h, p in result.scores.items()))


@click.command()
@click.argument("model_path", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the raw manifest.")
def info(model_path, as_json) -> None:
    """Show a model's manifest: versions, datasets, thresholds, validation metrics."""
    from .artifact import default_model_path, read_manifest

    manifest = read_manifest(model_path or default_model_path())
    if as_json:
        click.echo(json.dumps(manifest, indent=2, sort_keys=True))
        return
    click.echo(f"model      {manifest.get('name')}  version {manifest.get('model_version')}")
    click.echo(f"created    {manifest.get('created')}")
    click.echo(f"sha256     {manifest.get('sha256')}  ({manifest.get('size_bytes', 0) / 1e6:.1f} MB)")
    click.echo("versions   " + ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items()))
    click.echo(f"flags on   {', '.join(manifest.get('flag_heads', []))}")
    click.echo("thresholds " + ", ".join(f"{h}={t:.3f}" for h, t in manifest.get("thresholds", {}).items()))
    for op_head, op in manifest.get("operating_points", {}).items():
        if op.get("threshold") is not None:
            click.echo(f"  {op_head}: precision>=0.9 at threshold {op['threshold']:.3f} (recall {op['recall']:.3f})")
    click.echo("datasets:")
    for d in manifest.get("datasets", []):
        files = ", ".join(f"{f.get('path')} {str(f.get('sha256'))[:12]}" for f in d.get("files", []))
        click.echo(f"  {d.get('name')}: {d.get('rows')} rows  {files}")
    for fb in manifest.get("feedback", []):
        click.echo(f"feedback: {fb['source']} {fb['rows']} rows sha256 {str(fb.get('sha256'))[:16]}")
    click.echo("validation metrics:")
    _print_val_metrics(manifest)
