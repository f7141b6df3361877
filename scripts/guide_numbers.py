"""Rewrite the quick-run numbers of docs/guide.md from the folder of a `genlab suite all --quick` run.

    python scripts/guide_numbers.py runs/suite-all-quick [--guide docs/guide.md] [--check]

Each suite's section of the guide holds one marked region,

    <!-- quick-run:NAME -->
    ... (written by this script) ...
    <!-- /quick-run:NAME -->

which this script replaces with what OUT/NAME/suite.json and the run folders under it say: where and
when the numbers were measured, the suite's results table (one row per training run, the family's
headline numbers), each warning that a result is below its step's floor, and the tables of the
inspections the guide's prose reads. A step of the suite that has no row or inspection in the folder
is listed as "not run", and a suite without suite.json says so, so a partial run rewrites the guide
truthfully. Numbers are written as the report writes them (four
significant digits). The prose around the regions refers to these numbers and quotes none itself.
`--check` writes nothing and exits 1 when the guide differs from what the folder says.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # this checkout's genlab, as the benchmarks do

from genlab.errors import GenlabError  # noqa: E402
from genlab.report.numbers import format_duration, format_value, unsigned_zeros  # noqa: E402
from genlab.train.runfolder import atomic_write_bytes  # noqa: E402

# The inspections whose tables each suite's guide section reads, each with how many of its tables (None:
# all); the other inspections are figures, or tables the report shows in full.
INSPECTIONS: dict[str, dict[str, int | None]] = {
    # class pairs: the closest pairs per model
    "autoencoders": {"class-pairs": 1, "class-pairs-single-cell": 1, "pca-vs-linear-ae": None},
    "vae": {"vae-vs-ae": None},
    "gan": {"inversion": None, "latent-paths": None},
    "divergences": {"divergences": None},
}
BELOW_FLOOR = "Warning, below the floor:"  # as the report writes a result too weak to conclude from
REGION = re.compile(r"(<!-- quick-run:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /quick-run:(?P=name) -->)", re.S)


def suite_block(out: Path, name: str) -> str:
    """The markdown of suite `name`'s region, from `out`/`name`/suite.json and its run folders."""
    from genlab.suites import all_suites

    suite = all_suites()[name]
    path = out / name / "suite.json"
    if not path.is_file():
        return (
            f"Quick-run numbers: not run (no `{name}/suite.json` in `{out.name}`; run "
            f"`genlab suite {name} --quick` or `genlab suite all --quick`).\n"
        )
    record = json.loads(path.read_text())
    expected = [step.name for step in suite.build(tuple(record.get("data") or suite.data))]
    ran = {step["name"] for step in record.get("steps", [])}
    lines = [_provenance(out, name, record), ""]
    results = record.get("results") or {}
    rows = results.get("rows") or []
    if rows:
        lines += [f"Results (table 'results of suite {name}' of the report):", ""]
        lines += _markdown_table(results["columns"], rows) + [""]
    inspections = {i["step"]: i for i in record.get("inspections", [])}
    # Warnings about training runs below their steps' floors; an inspection's stand with its tables.
    for warning in record.get("warnings", []):
        if warning["step"] not in inspections:
            lines += [f"{BELOW_FLOOR} {warning['text']}", ""]
    for step, count in INSPECTIONS.get(name, {}).items():
        inspection = inspections.get(step)
        if inspection is None:
            continue  # listed as not run below
        for text in inspection.get("warnings", []):
            lines += [f"`{step}`: {BELOW_FLOOR} {text}", ""]
        for note in inspection.get("notes", []):
            lines += [f"`{step}`: {unsigned_zeros(note)}", ""]
        for table in inspection.get("tables", [])[:count]:
            lines += [f"`{step}`: {unsigned_zeros(table['caption']).rstrip('.')}.", ""]
            lines += _markdown_table(table["columns"], table["rows"]) + [""]
    # Steps of today's suite that this folder lacks (added since it ran, or an older folder).
    missing = [step for step in expected if step not in ran]
    if missing:
        lines += [f"Not run: {', '.join(f'`{step}`' for step in missing)}.", ""]
    return "\n".join(lines)


def _provenance(out: Path, name: str, record: dict) -> str:
    """Where the numbers come from: mode, data, and from the suite's run folders the genlab version,
    device, dates and summed training time."""
    configs = [json.loads(p.read_text()) for p in sorted((out / name).rglob("config.json"))]
    facts = [f"{record.get('mode', '?')} settings", f"data {', '.join(record.get('data', [])) or '?'}"]
    if configs:
        created = sorted(str(c.get("created", "?"))[:10] for c in configs)
        facts.append(
            f"genlab {', '.join(sorted({str(c.get('genlab_version', '?')) for c in configs}))} on "
            f"{', '.join(sorted({str(c.get('device', '?')) for c in configs}))}, "
            + (created[0] if created[0] == created[-1] else f"{created[0]} to {created[-1]}")
        )
    results = record.get("results") or {}
    if "seconds" in results.get("columns", []):
        column = results["columns"].index("seconds")
        facts.append(f"{format_duration(sum(float(row[column] or 0) for row in results['rows']))} of training")
    return (
        f"Quick-run numbers ({'; '.join(facts)}): written by `scripts/guide_numbers.py` from "
        f"`{out.name}/{name}/suite.json`, not typed."
    )


def _markdown_table(columns: list[str], rows: list[list]) -> list[str]:
    """A markdown table of `rows`, numbers as the report writes them."""
    lines = ["| " + " | ".join(map(_cell, columns)) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[i] if i < len(row) else None) for i in range(len(columns))) + " |")
    return lines


def _cell(value) -> str:
    text = "-" if value is None or value == "" else unsigned_zeros(format_value(value))
    return text.replace("|", "\\|").replace("\n", " ")


def rewrite(guide_text: str, out: Path) -> str:
    """`guide_text` with every quick-run region rewritten from `out`."""
    from genlab.suites import all_suites

    names = [m.group("name") for m in REGION.finditer(guide_text)]
    unknown = [n for n in names if n not in all_suites()]
    if unknown:
        raise GenlabError(
            f"the guide marks quick-run regions for unknown suites ({', '.join(unknown)}); "
            f"name one of: {', '.join(all_suites())}"
        )
    if not names:
        raise GenlabError(
            "the guide has no '<!-- quick-run:NAME -->' regions; mark where each suite's quick-run numbers go"
        )
    return REGION.sub(lambda m: m.group(1) + suite_block(out, m.group("name")) + m.group(4), guide_text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder `genlab suite all --quick -o OUT` wrote")
    parser.add_argument("--guide", type=Path, default=ROOT / "docs" / "guide.md")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the guide is out of date")
    args = parser.parse_args(argv)
    try:
        if not args.out.is_dir():
            raise GenlabError(f"{args.out} is not a folder; give the folder 'genlab suite all --quick -o OUT' wrote")
        text = args.guide.read_text()
        new = rewrite(text, args.out)
    except GenlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"{args.guide} differs from the numbers in {args.out}", file=sys.stderr)
            return 1
        return 0
    atomic_write_bytes(args.guide, new.encode())  # an interrupted write never leaves half a guide
    print(f"rewrote {len(REGION.findall(new))} quick-run regions of {args.guide} from {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
