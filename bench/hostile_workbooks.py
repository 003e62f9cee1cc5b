"""Benchmark: refusing hostile spreadsheets, and reading a realistic 50,000-row workbook, before and after.

    .venv/bin/python bench/hostile_workbooks.py [--only CASE ...] [--before-hostile] [--before-timeout 120]
                                                [--keep DIR] [--json FILE]

It writes the files into a temporary folder (``--keep DIR`` to keep them):

- the hostile workbooks of tests/xlsx_builders.py: 50,000 rows with one cell in
  column XFD; 390 MB of shared strings; 1,000,001 empty shared strings; a 1 GB
  zip bomb in a part that is never read; a sheet whose ``dimension`` says A1:B2
  over 60,000 rows; one 1,000-character text in every cell of 50,000 rows;
  entity declarations ("billion laughs"); and, within every limit but the
  time budget, 60 MB of empty cells;
- hostile CSV files of 20 MB: blank lines, one line of commas, a quote left open;
- a realistic 50,000-row file of the widest kind, ``disbursements``, every
  column filled: as openpyxl and pandas write it (inline strings), as Excel
  writes it (shared strings), and as a CSV.

Each file is read by ``parse_upload`` (what the upload page and ``flask import``
call) in a child process of its own, in an app of ``TestingConfig``, so that
its peak RSS (``ru_maxrss``) and CPU time are its own. The realistic files are
also read by the reader before this change (openpyxl's read-only mode, padded
rows; a copy of it is below, ``old_parse``), in the same run, for the ratio;
``--before-hostile`` also runs the old reader on the hostile files, each killed
after ``--before-timeout`` seconds and capped at 4 GB of address space.

It prints a table (on disk, unpacked, outcome, wall and CPU seconds, peak RSS
and what the parse added to it), the before/after ratios, the parts a realistic
workbook unpacks to, and the load average. This is not a test: it lives outside
``tests/`` and pytest never collects it.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
DISBURSEMENT_COLUMNS = ("reference", "project_code", "category", "mother_code", "child_code", "academic_year", "term",
                        "income_project_reference", "payee", "amount", "currency", "entered_on", "paid_on",
                        "payment_reference")
CLAIM_HEADER = b"child_code,member_state,personnel_category,status\n"


# --- the files -------------------------------------------------------------------------------------------------------

def disbursement_rows(rows: int, seed: int = 1):
    """Rows of the widest kind with every column filled, as a Fund office would keep them."""
    rng = random.Random(seed)
    categories = ("school_fees", "iga", "medical", "psychosocial", "material", "legal", "outreach")
    first = ("Marie", "Jeanne", "Esther", "Grâce", "Aline", "Solange", "Béatrice", "Chantal", "Odette", "Furaha")
    last = ("Ngoyi", "Mukendi", "Kabila", "Mbuyi", "Kalonji", "Ilunga", "Banza", "Kasongo", "Mwamba", "Tshala")
    towns = ("Bunia", "Goma", "Bangui", "Kavumu", "Bukavu")
    for number in range(1, rows + 1):
        country = rng.choice(("CD", "CF"))
        mother = rng.randrange(1, 20_000)
        yield [f"TF-DSB-2026-{number:06d}", f"TF-{country}-2025-0{rng.randrange(1, 9)}", rng.choice(categories),
               f"{country}-M-{mother:05d}", f"{country}-C-{mother * 3 + rng.randrange(3):06d}", "2025-2026",
               rng.randrange(1, 4), f"{country}-IGA-{rng.randrange(1, 5000):05d}",
               f"École primaire {rng.choice(last)} {rng.choice(first)} de {rng.choice(towns)}",
               round(rng.uniform(5000, 250000), 2), "CDF" if country == "CD" else "XAF",
               dt.date(2025, 9, 1) + dt.timedelta(days=rng.randrange(300)),
               dt.date(2025, 9, 1) + dt.timedelta(days=rng.randrange(300)), f"VIR-{rng.randrange(10**8):08d}"]


def disbursements_openpyxl(rows: int) -> bytes:
    """As openpyxl (and pandas' ``to_excel``) write it: every text inline in the sheet, dates styled as dates."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("disbursements")
    sheet.append(list(DISBURSEMENT_COLUMNS))
    for row in disbursement_rows(rows):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def as_excel_writes_it(data: bytes) -> bytes:
    """The same workbook with its texts in a shared strings part, as Excel saves it."""
    import re

    source = zipfile.ZipFile(io.BytesIO(data))
    sheet = source.read("xl/worksheets/sheet1.xml").decode()
    strings: dict[str, int] = {}

    def shared(match):
        index = strings.setdefault(match.group(2), len(strings))
        return f'<c r="{match.group(1)}" t="s"><v>{index}</v></c>'

    sheet = re.sub(r'<c r="([A-Z]+\d+)" t="inlineStr"><is><t>(.*?)</t></is></c>', shared, sheet)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    table = (f'<sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">'
             + "".join(f"<si><t>{text}</t></si>" for text in strings) + "</sst>")
    relationship = ('<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    content_type = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = sheet.encode()
            elif item.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", relationship.encode())
            elif item.filename == "[Content_Types].xml":  # where openpyxl looks for the shared strings
                content = content.replace(b"</Types>", content_type.encode())
            target.writestr(item.filename, content)
        target.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def disbursements_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DISBURSEMENT_COLUMNS)
    for row in disbursement_rows(rows):
        writer.writerow([value.isoformat() if isinstance(value, dt.date) else value for value in row])
    return out.getvalue().encode("utf-8")


def empty_cells(megabytes: int) -> bytes:
    """Rows of 16,000 empty cells (``<c/>``), ``megabytes`` MB of them: within every limit but the time budget."""
    from tests import xlsx_builders as build

    row = "<row>" + "<c/>" * 16_000 + "</row>"
    return build.workbook(build.sheet([build.row(1, build.CLAIM_HEADER)] + [row] * (megabytes * MB // len(row))))


def cases() -> dict[str, tuple]:
    """name: (what it is, builder, file name, kind, realistic?)."""
    from tests import xlsx_builders as build

    header_size = len(CLAIM_HEADER)
    return {
        "xlsx_column_xfd": ("50,000 rows, one cell each in column XFD", lambda: build.cells_in_column_xfd(50_000),
                            "claims.xlsx", "claims", False),
        "xlsx_shared_strings_bomb": ("390 MB of shared strings, 1 KB each",
                                     lambda: build.shared_strings_bomb(390, length=1024), "claims.xlsx", "claims",
                                     False),
        "xlsx_many_shared_strings": ("1,000,001 empty shared strings", lambda: build.many_shared_strings(1_000_001),
                                     "claims.xlsx", "claims", False),
        "xlsx_bomb_in_another_part": ("1 GB of zeros in xl/media/image1.png",
                                      lambda: build.bomb_in_another_part(1024), "claims.xlsx", "claims", False),
        "xlsx_lying_dimension": ("dimension A1:B2 over 60,000 rows", lambda: build.lying_dimension(60_000),
                                 "claims.xlsx", "claims", False),
        "xlsx_one_text_everywhere": ("one 1,000-character text in all 200,000 cells",
                                     lambda: build.one_long_text_everywhere(50_000, 1000), "claims.xlsx", "claims",
                                     False),
        "xlsx_entity_expansion": ("entities expanding to 2 GB", build.entity_expansion, "claims.xlsx", "claims",
                                  False),
        "xlsx_empty_cells": ("60 MB of empty cells (every limit but time)", lambda: empty_cells(60), "claims.xlsx",
                             "claims", False),
        "csv_blank_lines": ("20 MB of blank lines", lambda: CLAIM_HEADER + b"\n" * (20 * MB - header_size),
                            "claims.csv", "claims", False),
        "csv_one_line_of_commas": ("20 MB line of commas", lambda: CLAIM_HEADER + b"," * (20 * MB - header_size),
                                   "claims.csv", "claims", False),
        "csv_open_quote": ("a quote left open for 20 MB", lambda: CLAIM_HEADER + b'"' + b"x" * (20 * MB - header_size
                                                                                                  - 1),
                           "claims.csv", "claims", False),
        "disbursements_openpyxl": ("50,000 rows, inline strings (openpyxl, pandas)",
                                   lambda: disbursements_openpyxl(50_000), "disbursements.xlsx", "disbursements",
                                   True),
        "disbursements_excel": ("50,000 rows, shared strings (Excel)", None, "disbursements.xlsx", "disbursements",
                                True),
        "disbursements_csv": ("50,000 rows as CSV", lambda: disbursements_csv(50_000), "disbursements.csv",
                              "disbursements", True),
    }


def unpacked(data: bytes) -> int | None:
    if not data.startswith(b"PK\x03\x04"):
        return None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


# --- the reader before this change (tracker/imports/files.py of commit 140ea42), for comparison ---------------------

def old_parse(data: bytes, filename: str, kind) -> tuple[int, int]:
    """``(data rows, row errors)`` as the old ``parse_upload`` read them; raises ``FileProblem`` as it did.

    Only what costs time or memory is kept: the ZIP size check (400 MB), openpyxl's read-only workbook with every
    shared string loaded, rows padded to their last cell, the width check after padding; for a CSV the whole text
    decoded, then ``csv.reader`` over a ``StringIO`` copy of it.
    """
    from tracker.imports.kinds import FileProblem
    from tracker.imports.reading import MAX_CELL, MAX_ROWS
    from tracker.imports.xlsx import cell_text

    if data.startswith(b"PK\x03\x04"):
        from openpyxl import load_workbook

        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in archive.infolist()) > 400 * MB:
            raise FileProblem("The workbook is too large once unpacked. Split it into several files.")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise FileProblem("The XLSX workbook cannot be read") from None
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        source = ([cell_text(value) for value in values] for values in sheet.iter_rows(values_only=True))
    else:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        source = ([cell.strip() for cell in cells] for cells in csv.reader(io.StringIO(text, newline="")))
    header, total, errors, kept = None, 0, 0, []
    for cells in source:
        if header is None:
            header = [c.strip().lower() for c in cells]
            while header and header[-1] == "":
                header.pop()
            continue
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        total += 1
        if total > MAX_ROWS:
            raise FileProblem(f"The file has more than {MAX_ROWS} data rows.")
        if len(cells) > len(header) or any(len(cell) > MAX_CELL for cell in cells):
            errors += 1
            continue
        kept.append(tuple(cells) + ("",) * (len(header) - len(cells)))
    return total, errors


# --- one measurement, in a child process ---------------------------------------------------------------------------

def child(path: str, kind_name: str, reader: str) -> dict:
    os.environ.pop("TRACKER_TEST_DATABASE_URL", None)
    from config import TestingConfig
    from tracker import create_app
    from tracker.imports.kinds import KINDS, FileProblem
    from tracker.imports.reading import parse_upload

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    data = Path(path).read_bytes()
    import openpyxl.reader.excel  # noqa: F401 (both readers' imports, before the baseline)

    import tracker.imports.xlsx  # noqa: F401

    before = peak_rss_mb()
    with app.test_request_context():
        kind = KINDS[kind_name]
        started, cpu = time.perf_counter(), time.process_time()
        try:
            if reader == "new":
                parsed = parse_upload(data, Path(path).name, kind)
                outcome = f"read: {parsed.total} rows, {len(parsed.errors)} row errors"
                if parsed.errors:
                    outcome += f" ({parsed.errors[0].message})"
            else:
                total, errors = old_parse(data, Path(path).name, kind)
                outcome = f"read: {total} rows, {errors} row errors"
        except FileProblem as problem:
            outcome = "refused: " + problem.message
        except MemoryError:
            outcome = "MemoryError"
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"outcome": outcome, "wall": wall, "cpu": cpu, "rss_before_mb": before, "rss_peak_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak RSS: ``VmHWM``, not ``ru_maxrss``, which Linux carries over ``exec`` from the parent
    that forked it (here the benchmark, which holds the files it built)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path, kind: str, reader: str, timeout: float | None, memory_mb: int | None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), "--kind", kind,
               "--reader", reader]
    if memory_mb:
        command += ["--memory-mb", str(memory_mb)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": f"killed after {timeout:.0f} s", "wall": time.perf_counter() - started, "cpu": None,
                "rss_before_mb": None, "rss_peak_mb": None}
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"outcome": f"failed: {tail}", "wall": time.perf_counter() - started, "cpu": None,
                "rss_before_mb": None, "rss_peak_mb": None}
    return json.loads(lines[-1].removeprefix("BENCH-RESULT "))


def number(value, digits=1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="CASE", help="only these cases (names as printed)")
    parser.add_argument("--before-hostile", action="store_true",
                        help="also run the old reader on the hostile files (slow: minutes, gigabytes)")
    parser.add_argument("--before-timeout", type=float, default=120, help="seconds before an old reader is killed")
    parser.add_argument("--keep", metavar="DIR", help="write the files into DIR and keep them")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--reader", choices=("new", "old"), default="new", help=argparse.SUPPRESS)
    parser.add_argument("--memory-mb", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.memory_mb:
            limit = args.memory_mb * MB
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print("BENCH-RESULT " + json.dumps(child(args.child, args.kind, args.reader)), flush=True)
        return 0

    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    uptime_before = subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()
    results = []
    try:
        built: dict[str, bytes] = {}
        for name, (what, builder, filename, kind, realistic) in cases().items():
            if args.only and name not in args.only and not (name == "disbursements_openpyxl"
                                                            and "disbursements_excel" in args.only):
                continue
            print(f"{name}: building...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            data = as_excel_writes_it(built["disbursements_openpyxl"]) if builder is None else builder()
            built[name] = data
            path = folder / f"{name}-{filename}"
            path.write_bytes(data)
            build_s = time.perf_counter() - started
            parts = None
            if realistic and data.startswith(b"PK"):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    parts = {info.filename: info.file_size for info in archive.infolist()}
            readers = ["new", "old"] if realistic or args.before_hostile else ["new"]
            for reader in readers:
                print(f"{name}: {reader} reader...", file=sys.stderr, flush=True)
                figures = measure(path, kind, reader, timeout=args.before_timeout if reader == "old" else 300,
                                  memory_mb=4096 if reader == "old" else None)
                results.append({"case": name, "what": what, "reader": reader, "bytes": len(data),
                                "unpacked": unpacked(data), "parts": parts, "build_s": build_s, **figures})
        built.clear()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"{'case':<26} {'reader':<6} {'on disk':>9} {'unpacked':>10} {'wall s':>7} {'CPU s':>6} "
          f"{'peak RSS MB':>11} {'+parse MB':>9}  outcome")
    for r in results:
        grown = None if r["rss_peak_mb"] is None else r["rss_peak_mb"] - r["rss_before_mb"]
        size = f"{r['bytes'] / 1024:,.0f} KB" if r["bytes"] < MB else f"{r['bytes'] / MB:,.1f} MB"
        unpacked_mb = "—" if r["unpacked"] is None else f"{r['unpacked'] / MB:,.1f} MB"
        print(f"{r['case']:<26} {r['reader']:<6} {size:>9} {unpacked_mb:>10} {number(r['wall'], 2):>7} "
              f"{number(r['cpu'], 2):>6} {number(r['rss_peak_mb'], 0):>11} {number(grown, 0):>9}  "
              f"{r['outcome'][:110]}")
    print()
    for case in ("disbursements_openpyxl", "disbursements_excel", "disbursements_csv"):
        pair = {r["reader"]: r for r in results if r["case"] == case}
        if "new" in pair and "old" in pair and pair["new"]["cpu"] and pair["old"]["cpu"]:
            old, new = pair["old"], pair["new"]
            print(f"{case}: before {old['wall']:.2f} s ({old['cpu']:.2f} s CPU, {old['rss_peak_mb']:.0f} MB), after "
                  f"{new['wall']:.2f} s ({new['cpu']:.2f} s CPU, {new['rss_peak_mb']:.0f} MB): "
                  f"{old['wall'] / new['wall']:.1f}x faster ({old['cpu'] / new['cpu']:.1f}x less CPU)")
        if pair.get("new", {}).get("parts"):
            parts = ", ".join(f"{name} {size / MB:.1f} MB" for name, size in pair["new"]["parts"].items()
                              if size > 100 * 1024)
            print(f"    unpacked: {pair['new']['unpacked'] / MB:.1f} MB in all; {parts}")
    print(f"\nload average: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} after, on {os.cpu_count()} CPUs")
    print(f"uptime before: {uptime_before}")
    print(f"uptime after:  {subprocess.run(['uptime'], stdout=subprocess.PIPE, text=True).stdout.strip()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "load_before": load_before,
                                               "load_after": load_after}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
