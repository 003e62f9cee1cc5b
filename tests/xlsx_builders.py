"""XLSX workbooks written by hand, part by part, for the tests and bench/hostile_workbooks.py.

The XML is written in chunks straight into the ZIP, so a workbook that unpacks
to hundreds of megabytes is built without holding them, and is small on disk:
deflate shrinks repeated text about a thousandfold.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: The required columns of ``claims``, the kind the issue's attacker posted to.
CLAIM_HEADER = ("child_code", "member_state", "personnel_category", "status")
MB = 1024 * 1024

Chunks = bytes | Iterable[bytes]


def _chunks(content: Chunks) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content
    else:
        yield from content


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def inline(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def row(number: int, values: Iterable[str | int | float | None], *, shared: dict[str, int] | None = None) -> str:
    """A ``<row>`` of ``values`` from column A: text inline (or shared, when ``shared`` maps it), numbers as numbers."""
    cells = []
    for column, value in enumerate(values, start=1):
        reference = f"{column_letter(column)}{number}"
        if value is None or value == "":
            continue
        if isinstance(value, (int, float)):
            cells.append(f'<c r="{reference}"><v>{value}</v></c>')
        elif shared is not None:
            index = shared.setdefault(value, len(shared))
            cells.append(f'<c r="{reference}" t="s"><v>{index}</v></c>')
        else:
            cells.append(inline(reference, value))
    return f'<row r="{number}">{"".join(cells)}</row>'


def sheet(rows: Iterable[str], *, dimension: str | None = None, prologue: str = "") -> Iterator[bytes]:
    """A worksheet's XML from its ``<row>`` elements, written a few hundred rows at a time."""
    head = f'{prologue}<worksheet xmlns="{MAIN}">'
    if dimension:
        head += f'<dimension ref="{dimension}"/>'
    yield (head + "<sheetData>").encode()
    batch = []
    for element in rows:
        batch.append(element)
        if len(batch) == 500:
            yield "".join(batch).encode()
            batch.clear()
    yield ("".join(batch) + "</sheetData></worksheet>").encode()


def shared_strings(texts: Iterable[str]) -> Iterator[bytes]:
    yield f'<sst xmlns="{MAIN}">'.encode()
    batch = []
    for text in texts:
        batch.append(f"<si><t>{escape(text)}</t></si>")
        if len(batch) == 500:
            yield "".join(batch).encode()
            batch.clear()
    yield ("".join(batch) + "</sst>").encode()


def workbook(sheet_xml: Chunks, *, strings: Chunks | None = None, parts: dict[str, Chunks] | None = None,
             compresslevel: int = 6) -> bytes:
    """An XLSX of one worksheet (and its shared strings, and any other ``parts``), as Excel lays it out."""
    overrides = ['<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument'
                 '.spreadsheetml.sheet.main+xml"/>',
                 '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.spreadsheetml.worksheet+xml"/>']
    relationships = [f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>']
    if strings is not None:
        overrides.append('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.spreadsheetml.sharedStrings+xml"/>')
        relationships.append(f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/sharedStrings" '
                             'Target="sharedStrings.xml"/>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        archive.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>"))
        archive.writestr("_rels/.rels", (
            f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" '
            f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels",
                         f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{"".join(relationships)}</Relationships>')
        everything = {"xl/worksheets/sheet1.xml": sheet_xml, **({"xl/sharedStrings.xml": strings} if strings else {}),
                      **(parts or {})}
        for name, content in everything.items():
            with archive.open(name, "w") as target:
                for chunk in _chunks(content):
                    target.write(chunk)
    return out.getvalue()


def repeated(chunk: bytes, total: int) -> Iterator[bytes]:
    """``total`` bytes made of ``chunk`` over and over."""
    while total > 0:
        yield chunk[:total]
        total -= len(chunk)


# --- the hostile workbooks ------------------------------------------------------------------------------------------

def cells_in_column_xfd(rows: int = 50_000) -> bytes:
    """The issue's first workbook: a header, then ``rows`` rows of one cell each, in column XFD (16,384)."""
    def body():
        yield row(1, CLAIM_HEADER)
        for number in range(2, rows + 2):
            yield f'<row r="{number}"><c r="XFD{number}"><v>1</v></c></row>'

    return workbook(sheet(body()))


def shared_strings_bomb(megabytes: int = 390, length: int = MB - 16) -> bytes:
    """The issue's second workbook: ``megabytes`` MB of shared strings (texts of ``length`` characters, repeated),
    a few hundred KB zipped."""
    text = b"<si><t>" + b"A" * length + b"</t></si>"

    count, per_chunk = megabytes * MB // len(text), max(1, MB // len(text))

    def strings():
        yield f'<sst xmlns="{MAIN}">'.encode()
        for done in range(0, count, per_chunk):
            yield text * min(per_chunk, count - done)
        yield b"</sst>"

    header = row(1, CLAIM_HEADER, shared={})
    return workbook(sheet([header, '<row r="2"><c r="A2" t="s"><v>0</v></c></row>']), strings=strings())


def many_shared_strings(count: int = 1_000_001) -> bytes:
    """``count`` empty shared strings (``<si/>``, 5 bytes each): more of them than allowed, under the size limit."""
    def strings():
        yield f'<sst xmlns="{MAIN}">'.encode()
        yield from repeated(b"<si/>" * 10_000, 5 * count)
        yield b"</sst>"

    return workbook(sheet([row(1, CLAIM_HEADER)]), strings=strings())


def bomb_in_another_part(megabytes: int = 300, name: str = "xl/media/image1.png") -> bytes:
    """A small, valid workbook with one more part (never read) that unpacks to ``megabytes`` MB of zeros."""
    return workbook(sheet([row(1, CLAIM_HEADER), row(2, ("CD-C-00001-1", "UY", "military", "received"))]),
                    parts={name: repeated(bytes(MB), megabytes * MB)})


def lying_dimension(rows: int = 60_000, dimension: str = "A1:B2") -> bytes:
    """A sheet that says it spans ``dimension`` and holds ``rows`` data rows of four cells."""
    def body():
        yield row(1, CLAIM_HEADER)
        for number in range(2, rows + 2):
            yield row(number, (f"CD-C-{number:05d}-1", "UY", "military", "received"))

    return workbook(sheet(body(), dimension=dimension))


def one_long_text_everywhere(rows: int = 50_000, length: int = 1000) -> bytes:
    """Every cell refers to one shared text of ``length`` characters: small on disk, huge once read."""
    shared: dict[str, int] = {}
    text = "x" * length
    header = row(1, CLAIM_HEADER, shared=shared)

    def body():
        yield header
        for number in range(2, rows + 2):
            yield row(number, (text,) * len(CLAIM_HEADER), shared=shared)

    xml = b"".join(sheet(body()))
    return workbook(xml, strings=shared_strings(shared))


def entity_expansion() -> bytes:
    """A sheet declaring entities that expand to gigabytes ("billion laughs")."""
    entities = '<!ENTITY a0 "ha">' + "".join(f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10))
    prologue = f"<!DOCTYPE worksheet [{entities}]>"
    return workbook(sheet([row(1, CLAIM_HEADER), '<row r="2"><c r="A2" t="inlineStr"><is><t>&a9;</t></is></c></row>'],
                          prologue=prologue))


def understated_part() -> bytes:
    """A valid workbook whose sheet unpacks to more than the ZIP's central directory declares for it."""
    rows = [row(1, CLAIM_HEADER)] + [row(n, ("CD-C-1", "UY", "military", "received")) for n in range(2, 2000)]
    data = bytearray(workbook(sheet(rows)))
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        if data[entry + 46:].startswith(b"xl/worksheets/sheet1.xml"):
            data[entry + 24:entry + 28] = (1000).to_bytes(4, "little")  # the uncompressed size
        entry = data.find(b"PK\x01\x02", entry + 4)
    return bytes(data)
