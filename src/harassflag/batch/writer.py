"""Output rows as JSONL, CSV or Parquet (by extension), written resumably and finalised atomically.

JSONL/CSV are appended to `<out>.partial`; Parquet chunks go to numbered part files in
`<out>.parts/`. A checkpoint records how much is durable, so a killed run can be truncated back to
it and continued; the finished file is renamed into place, never left half-written under its name.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Sequence
from itertools import accumulate, chain, compress
from pathlib import Path
from typing import Any

import orjson

from ..errors import HarassflagError

OUTPUT_KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class OutputError(HarassflagError):
    """The output path cannot be used (unknown extension, not writable)."""

    exit_code = 2


def output_kind(out: Path) -> str:
    """'jsonl', 'csv' or 'parquet' from the output file's extension."""
    kind = OUTPUT_KINDS.get(out.suffix.lower())
    if kind is None:
        raise OutputError(f"{out}: unknown output extension; use .jsonl, .csv or .parquet")
    return kind


def columns(heads: Sequence[str], no_text: bool) -> list[str]:
    """Output column names, in order."""
    cols = ["id", "channel", "author", "timestamp"]
    if not no_text:
        cols.append("text")
    cols += [f"score_{h}" for h in heads]
    cols += ["flagged", "explanation", "targets", "source", "line"]
    return cols


def explanation_text(terms: Sequence[tuple[str, float]]) -> str:
    """Explanation terms as 'term:weight; term:weight' (CSV)."""
    return "; ".join(f"{t}:{w:.4f}" for t, w in terms)


def explanation_terms(spans: Sequence[Any]) -> list[tuple[str, float]]:
    """(term, weight) of each explanation Span, weight rounded to 6 places."""
    return [(sp.term, round(float(sp.weight), 6)) for sp in spans]


def _explanation_objects(explanation: list[Sequence[Any]]) -> list[Sequence[Any]]:
    """Each row's explanation Spans as [{"term", "weight"}, ...] (JSONL, Parquet): the pairs of
    `explanation_terms`; rows without spans keep their empty list.

    The weights are written as they are: the model's come as floats rounded to 4 places, which
    rounding to 6 leaves unchanged (a test checks it)."""
    out = explanation.copy()
    sizes = list(map(len, explanation))
    rows = list(compress(range(len(sizes)), sizes))
    if not rows:
        return out
    # every span's object in one pass, then each row's slice of them
    objects = [{"term": term, "weight": weight} for term, _, _, weight in chain.from_iterable(explanation)]
    ends = list(accumulate(sizes[i] for i in rows))
    for i, a, b in zip(rows, [0, *ends[:-1]], ends):
        out[i] = objects[a:b]
    return out


def encode_columns(kind: str, data: dict[str, list], cols: list[str]) -> Any:
    """One chunk, given column by column (explanation: Spans per row), in the output's encoding:
    bytes (JSONL/CSV) or a column dict (Parquet)."""
    if kind == "jsonl":
        values = [_explanation_objects(data[c]) if c == "explanation" else data[c] for c in cols]
        dumps = orjson.dumps
        lines = [dumps(dict(zip(cols, row))) for row in zip(*values)]
        return b"\n".join(lines) + b"\n" if lines else b""
    if kind == "csv":
        values = []
        for c in cols:
            v = data[c]
            if c == "explanation":
                v = [explanation_text(explanation_terms(spans)) for spans in v]
            elif c == "targets":
                v = list(map("; ".join, v))
            elif c == "flagged":
                v = ["true" if f else "false" for f in v]
            elif c.startswith("score_"):
                v = list(map(repr, v))
            values.append(v)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(zip(*values))
        return buf.getvalue().encode("utf-8")
    out = {c: data[c] for c in cols}
    out["explanation"] = _explanation_objects(data["explanation"])
    out["targets"] = [list(t) for t in data["targets"]]
    return out


def csv_header(cols: list[str]) -> bytes:
    """The CSV header line."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cols)
    return buf.getvalue().encode("utf-8")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a synced temp file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def parquet_schema(cols: list[str]) -> Any:
    """Arrow schema of the Parquet output."""
    import pyarrow as pa

    fields = []
    for c in cols:
        if c.startswith("score_"):
            fields.append(pa.field(c, pa.float64()))
        elif c == "flagged":
            fields.append(pa.field(c, pa.bool_()))
        elif c == "line":
            fields.append(pa.field(c, pa.int64()))
        elif c == "explanation":
            item = pa.struct([pa.field("term", pa.string()), pa.field("weight", pa.float64())])
            fields.append(pa.field(c, pa.list_(item)))
        elif c == "targets":
            fields.append(pa.field(c, pa.list_(pa.string())))
        else:
            fields.append(pa.field(c, pa.string()))
    return pa.schema(fields)


class OutputSink:
    """The output being built: append-only partial file, or numbered Parquet parts."""

    def __init__(self, out: Path, kind: str, cols: list[str]) -> None:
        self.out = out
        self.kind = kind
        self.cols = cols
        self.partial = out.with_name(out.name + ".partial")
        self.parts_dir = out.with_name(out.name + ".parts")
        self.parts = 0
        self._file: io.BufferedWriter | None = None

    def paths(self) -> list[Path]:
        """Every intermediate path this sink may leave behind."""
        return [self.partial, self.parts_dir]

    def discard(self) -> None:
        """Remove intermediate files of an earlier run."""
        self.partial.unlink(missing_ok=True)
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def open(self, resume_bytes: int | None = None, resume_parts: int | None = None) -> None:
        """Start fresh, or continue from a checkpoint (dropping anything written after it)."""
        if self.kind == "parquet":
            if resume_parts is None:
                shutil.rmtree(self.parts_dir, ignore_errors=True)
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            self.parts = resume_parts or 0
            for p in self.parts_dir.glob("part-*.parquet*"):
                stem = p.name.split(".")[0]
                if (
                    not stem[5:].isdigit()
                    or int(stem[5:]) >= self.parts
                    or not p.name.endswith(".parquet")
                ):
                    p.unlink()
            return
        if resume_bytes is not None and self.partial.exists():
            self._file = open(self.partial, "r+b")  # type: ignore[assignment]  # noqa: SIM115 (long-lived handle, closed by its owner)
            self._file.truncate(resume_bytes)
            self._file.seek(resume_bytes)
            return
        self._file = open(self.partial, "wb")  # type: ignore[assignment]  # noqa: SIM115 (long-lived handle, closed by its owner)
        if self.kind == "csv":
            self._file.write(csv_header(self.cols))

    def write(self, payload: Any) -> None:
        """Append one encoded chunk."""
        if self.kind == "parquet":
            if not payload or not payload[self.cols[0]]:
                return
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pydict(payload, schema=parquet_schema(self.cols))
            path = self.parts_dir / f"part-{self.parts:08d}.parquet"
            tmp = path.with_name(path.name + ".tmp")
            pq.write_table(table, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
            self.parts += 1
            return
        assert self._file is not None
        self._file.write(payload)

    def sync(self) -> int:
        """Make everything written durable; return the byte size (or part count) to checkpoint."""
        if self.kind == "parquet":
            _fsync_dir(self.parts_dir)
            return self.parts
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def finalize(self) -> None:
        """Assemble the final file and rename it into place atomically."""
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = parquet_schema(self.cols)
            with pq.ParquetWriter(self.partial, schema) as writer:
                for i in range(self.parts):
                    part = pq.ParquetFile(self.parts_dir / f"part-{i:08d}.parquet")
                    for g in range(part.num_row_groups):
                        writer.write_table(part.read_row_group(g))
                if self.parts == 0:
                    writer.write_table(pa.Table.from_pylist([], schema=schema))
            with open(self.partial, "rb+") as f:
                os.fsync(f.fileno())
        else:
            assert self._file is not None
            self.sync()
            self._file.close()
            self._file = None
        os.replace(self.partial, self.out)
        _fsync_dir(self.out.parent)
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def close(self) -> None:
        """Close without finalising (the checkpoint still allows a resume)."""
        if self._file is not None:
            self._file.close()
            self._file = None
