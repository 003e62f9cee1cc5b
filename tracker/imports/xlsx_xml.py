"""The parts of an XLSX workbook (a ZIP of XML) parsed by expat as a stream, within limits: no DTD, no
token or part of unbounded size, the time budget checked at each chunk (see :mod:`tracker.imports.xlsx`)."""
from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from xml.parsers import expat

from flask_babel import gettext as _

from tracker.formatting import number
from tracker.imports.kinds import FileProblem

#: Bytes unpacked and handed to expat at a time; the time budget is checked between chunks.
CHUNK = 64 * 1024
#: A single tag, attribute or comment longer than this is not a spreadsheet's (expat would have to buffer it).
MAX_TOKEN = 1024 * 1024
#: XML elements in one part: a 50,000-row sheet of the widest kind, every text inline, has 1.95 million (a row, then
#: a cell and its value or text); this leaves room for formatted empty cells, and bounds parsing to about twice the
#: time that sheet takes.
MAX_ELEMENTS = 5_000_000


class Unreadable(Exception):
    """The workbook is damaged or not what it claims (shown as the generic "cannot be read" message)."""


class Parts:
    """The parts of the archive, each parsed by expat in chunks under the time budget."""

    def __init__(self, archive: zipfile.ZipFile, infos: dict, check_time: Callable[[], None]):
        self.archive = archive
        self.infos = infos
        self.check_time = check_time

    def exists(self, name: str) -> bool:
        return name in self.infos

    def parse(self, name: str, parser) -> Iterator[None]:
        """Feed part ``name`` to ``parser``; yields after each chunk (a sheet's rows are drained then)."""
        try:
            stream = self.archive.open(self.infos[name])
        except KeyError:
            raise Unreadable(name) from None
        fed = 0
        with stream:
            while True:
                self.check_time()
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                parser.Parse(chunk, False)
                fed += len(chunk)
                if fed - parser.CurrentByteIndex > MAX_TOKEN:
                    raise Unreadable(f"{name}: a token longer than {MAX_TOKEN} bytes")
                yield
            parser.Parse(b"", True)
        yield


def xml_parser(start, end=None, text=None, *, counted: bool = True):
    """An expat parser with namespaces (``uri}name``) that refuses any DTD, hence any entity.

    Unless ``counted`` is false (the sheet counts its own), more than
    :data:`MAX_ELEMENTS` elements are refused.
    """
    if counted:
        start = _counting(start)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    return parser


def _refuse_dtd(*args):
    raise Unreadable("a document type declaration")


def _counting(start):
    elements = 0

    def counted(name, attrs):
        nonlocal elements
        elements += 1
        if elements > MAX_ELEMENTS:
            raise too_many_elements()
        start(name, attrs)

    return counted


def too_many_elements() -> FileProblem:
    return FileProblem(_("A part of the workbook holds more than %(max)s XML elements (cells, formats...); a sheet "
                         "of 50,000 rows needs about 2 million. Delete the empty rows and columns past the data, or "
                         "save it as \"CSV UTF-8\".", max=number(MAX_ELEMENTS)))


def local_name(name: str) -> str:
    return name.rpartition("}")[2]


def read_part(reader: Parts, name: str, parser) -> None:
    for _chunk in reader.parse(name, parser):
        pass
