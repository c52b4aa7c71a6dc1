"""Command line for analysts with their own data.

    python -m analysis summarise DATA.csv --indicator COLUMN --positive VALUE[,VALUE] ...
    python -m analysis rake DATA.csv --margins MARGINS.csv [--output FILE]

Bad input gives a one-line error naming the problem and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence

import numpy as np

from analysis import __version__
from analysis.coding import Coded, combine, encode
from analysis.intervals import DESIGN_METHODS, SRS_METHODS
from analysis.summary import Mean, Proportion, summarise
from analysis.weighting import RakingError, rake

MAX_FIELD = 1_000_000  # characters in one CSV field


class UsageError(Exception):
    """Something about the input that the analyst must fix; shown as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and status 2, like every other refusal
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"analysis {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    summary = commands.add_parser("summarise", help="estimate an indicator by group")
    summary.add_argument("data", help="CSV with a header row, one row per respondent")
    summary.add_argument("--indicator", required=True, help="column holding the answer")
    summary.add_argument("--positive", help="answers that count as positive, comma-separated")
    summary.add_argument(
        "--mean",
        action="store_true",
        help="estimate the mean of a numeric column instead of a share",
    )
    summary.add_argument("--exclude", default="", help="answers left out of the denominator")
    summary.add_argument("--by", required=True, help="one or two columns, comma-separated")
    summary.add_argument("--weight", help="column of design weights")
    summary.add_argument("--margins", help="CSV of population margins to rake to first")
    summary.add_argument(
        "--method",
        help=f"interval method: {', '.join(SRS_METHODS)} "
        f"(unweighted) or {', '.join(DESIGN_METHODS)}",
    )
    summary.add_argument("--confidence", type=float, default=0.95)
    summary.add_argument("--min-cell", type=int, default=10)
    summary.add_argument(
        "--hide-first",
        default="",
        help="groups to hide first when more must be hidden, comma-separated "
        "(for example prefer_not_to_say)",
    )
    summary.add_argument("--adjust", default="holm", choices=["holm", "benjamini_hochberg", "none"])
    summary.add_argument("--no-compare", action="store_true")
    summary.add_argument("--format", choices=["csv", "json"], default="csv")
    summary.add_argument("--output", help="file to write (default: standard output)")

    raking = commands.add_parser("rake", help="add a raked weight column")
    raking.add_argument("data")
    raking.add_argument("--margins", required=True)
    raking.add_argument("--weight", help="column of base weights to start from")
    raking.add_argument("--output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "summarise":
            text = _summarise(args)
        else:
            text = _rake(args)
        _write(text, args.output)
    except (UsageError, ValueError, KeyError, RakingError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        print(f"error: {message}".splitlines()[0], file=sys.stderr)
        return 2
    return 0


def read_csv(path: str) -> tuple[list[str], dict[str, list[str]]]:
    """Read a CSV into columns of strings, refusing empty or ragged files."""
    csv.field_size_limit(MAX_FIELD)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    except csv.Error as error:
        raise UsageError(f"{path} is not valid CSV: {error}") from None
    if not rows or not rows[0]:
        raise UsageError(f"{path} is empty")
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header):
        raise UsageError(f"{path} has a column name twice")
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise UsageError(f"{path} has a header but no rows")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UsageError(f"{path} row {number} has {len(row)} fields, expected {len(header)}")
    return header, {name: [row[i] for row in body] for i, name in enumerate(header)}


def read_columns(path: str, names: Sequence[str], numeric: Sequence[str] = ()) -> dict:
    """Read only the named columns of a CSV, columnar (Apache Arrow's reader): each text
    column straight to small integer codes and its labels (an empty cell is missing),
    each `numeric` column to floats. A million rows take a second and a few megabytes a
    column, where reading every field as a Python string took 15 seconds and a gigabyte."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    header = _header(path)
    for name in names:
        if name not in header:
            raise UsageError(f"no column {name!r} in {path} (columns: {', '.join(header)})")
    wanted = list(dict.fromkeys(names))
    types = {
        name: pa.float64() if name in numeric else pa.dictionary(pa.int32(), pa.string())
        for name in wanted
    }
    try:
        table = arrow_csv.read_csv(
            path,
            # One thread, 1 MB blocks: as fast here as all cores, at half the memory.
            read_options=arrow_csv.ReadOptions(use_threads=False, block_size=1 << 20),
            parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
            convert_options=arrow_csv.ConvertOptions(
                include_columns=wanted,
                column_types=types,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
            memory_pool=pa.system_memory_pool(),  # freed buffers go back at once
        )
    except pa.ArrowInvalid as error:
        message = str(error).splitlines()[0]
        if "UTF8" in message or "UTF-8" in message:
            raise UsageError(f"{path} is not UTF-8 text") from None
        if any(name in message for name in numeric) or "conversion" in message.lower():
            raise UsageError(f"{path}: a value that is not a number ({message})") from None
        raise UsageError(f"{path} is not valid CSV: {message}") from None
    if table.num_rows == 0:
        raise UsageError(f"{path} has a header but no rows")
    table = table.unify_dictionaries()
    columns: dict = {}
    for name in wanted:
        chunks = table.column(name).chunks
        if name in numeric:
            columns[name] = np.concatenate([_values(c, np.float64, np.nan) for c in chunks])
            continue
        labels = [str(label) for label in chunks[0].dictionary.to_pylist()]
        codes = np.concatenate([_values(c.indices, np.int32, -1) for c in chunks])
        # An empty (or blank) cell is missing, as everywhere else in `analysis`. Labels in
        # sorted (code point, so UTF-8 byte) order, as `encode` gives them: a reference
        # category or a table's order never depends on which row came first in the file.
        kept = sorted(label for label in labels if label.strip())
        position = {label: index for index, label in enumerate(kept)}
        mapping = np.array([position.get(label, -1) for label in labels], dtype=np.intp)
        columns[name] = Coded(mapping[codes], tuple(kept))
    return columns


def _values(array, dtype, missing) -> np.ndarray:
    """An Arrow array's values, read straight from its buffers, with `missing` for a null.
    Arrow's own to_numpy imports pandas (half a second and tens of megabytes a run)."""
    size = len(array)
    values = np.frombuffer(
        array.buffers()[1], dtype=dtype, count=size, offset=array.offset * np.dtype(dtype).itemsize
    )
    if array.null_count:
        bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
        valid = np.unpackbits(bits, bitorder="little")[array.offset : array.offset + size]
        values = np.where(valid.astype(bool), values, missing)
    return values


def _header(path: str) -> list[str]:
    """The header row, checked: present, and no name twice."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    except csv.Error as error:
        raise UsageError(f"{path} is not valid CSV: {error}") from None
    if not first:
        raise UsageError(f"{path} is empty")
    header = [name.strip() for name in first]
    if len(set(header)) != len(header):
        raise UsageError(f"{path} has a column name twice")
    return header


def read_margins(path: str) -> dict[str, dict[str, float]]:
    """Read margins: columns variable, category, population."""
    header, columns = read_csv(path)
    missing = {"variable", "category", "population"} - set(header)
    if missing:
        raise UsageError(
            f"{path} needs columns variable, category, population "
            f"(missing {', '.join(sorted(missing))})"
        )
    margins: dict[str, dict[str, float]] = {}
    for variable, category, population in zip(
        columns["variable"], columns["category"], columns["population"], strict=True
    ):
        try:
            value = float(population)
        except ValueError:
            raise UsageError(f"{path}: population {population!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{path}: population {population!r} must be 0 or more")
        if category in margins.setdefault(variable, {}):
            raise UsageError(f"{path}: {variable} {category!r} appears twice")
        margins[variable][category] = value
    return margins


def _weights(columns: dict[str, list[str]], name: str | None):
    if name is None:
        return None
    if name not in columns:
        raise UsageError(f"no column {name!r} in the data")
    try:
        values = np.array([float(v) for v in columns[name]])
    except ValueError:
        raise UsageError(f"weight column {name!r} has a value that is not a number") from None
    return _checked_weights(values, name)


def _checked_weights(values: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise UsageError(f"weight column {name!r} has a value that is not a finite number")
    if np.any(values < 0):
        raise UsageError(f"weight column {name!r} has a negative weight")
    return values


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _summarise(args) -> str:
    by = _split(args.by)
    if args.mean:
        indicator = Mean(args.indicator, tuple(_split(args.exclude)))
    elif args.positive:
        indicator = Proportion(
            args.indicator, tuple(_split(args.positive)), tuple(_split(args.exclude))
        )
    else:
        raise UsageError("give --positive VALUES for a share, or --mean")
    margins = read_margins(args.margins) if args.margins else None
    crossed = [part for variable in margins or {} for part in variable.split("*")]
    weight = [args.weight] if args.weight else []
    data: dict[str, object] = read_columns(
        args.data, [args.indicator, *by, *crossed, *weight], numeric=weight
    )
    if args.weight:
        data[args.weight] = _checked_weights(data[args.weight], args.weight)
    table = summarise(
        data,
        indicator=indicator,
        by=by,
        weights=args.weight,
        margins=margins,
        method=args.method,
        confidence_level=args.confidence,
        min_cell=args.min_cell,
        compare=not args.no_compare,
        adjust=args.adjust,
        hide_first=[v.strip() for v in args.hide_first.split(",") if v.strip()],
    )
    records = table.to_records()
    if args.format == "json":
        meta = {
            **table.metadata(),
            "software": f"analysis {__version__}",
            "source": args.data,
            "margins_file": args.margins,
        }
        return (
            json.dumps(
                {"metadata": meta, "rows": [_json_row(r) for r in records]},
                indent=2,
                allow_nan=False,
            )
            + "\n"
        )
    return _csv(table.columns, records)


def _json_row(record: dict) -> dict:
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }


def _csv(columns, records) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record[c] is None else _cell(record[c]) for c in columns])
    return buffer.getvalue()


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _rake(args) -> str:
    header, columns = read_csv(args.data)
    if "weight" in columns:
        raise UsageError(f"{args.data} already has a 'weight' column")
    margins = read_margins(args.margins)
    categories = {}
    for variable in margins:
        parts = variable.split("*")
        for part in parts:
            if part not in columns:
                raise UsageError(
                    f"margin {variable!r} needs column {part!r}, which {args.data} does not have"
                )
        coded = [encode(columns[p]) for p in parts]
        categories[variable] = coded[0] if len(coded) == 1 else combine(coded)
    result = rake(categories, margins, base_weights=_weights(columns, args.weight))
    print(
        f"raked in {result.iterations} iterations; largest margin error "
        f"{result.max_margin_error:.2e}; weights {result.weight_min:.4g} to "
        f"{result.weight_max:.4g}; Kish design effect {result.kish_deff:.3f}",
        file=sys.stderr,
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*header, "weight"])
    for index in range(len(result.weights)):
        writer.writerow([columns[h][index] for h in header] + [repr(float(result.weights[index]))])
    return buffer.getvalue()


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
