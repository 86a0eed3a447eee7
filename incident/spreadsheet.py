"""CSV as a spreadsheet opens it: a text cell that people wrote never starts a formula.

Excel and LibreOffice run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, after a tab
or a carriage return, what follows) as a formula: a contact named ``=HYPERLINK(…)`` in an export
would become a link, or worse. As OWASP advises, such a text cell is written with a leading
apostrophe, which spreadsheets read as "this is text". The importer takes it off again, and a
text that itself begins with an apostrophe before one of those characters gets one more, so an
export imports back exactly. Numbers Riadó writes itself (ids, quantities, coordinates, figures)
are written as numbers, untouched."""

from __future__ import annotations

import csv

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_QUOTED_START = (*FORMULA_START, QUOTE)


def neutralise(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows and never runs."""
    if text.startswith(FORMULA_START) or (len(text) > 1 and text[0] == QUOTE and text[1] in _QUOTED_START):
        return QUOTE + text
    return text


def restore(cell: str) -> str:
    """A cell as it was before ``neutralise``: one leading apostrophe taken off when a formula
    character or another apostrophe follows it (as Riadó's exports write them)."""
    if len(cell) > 1 and cell[0] == QUOTE and cell[1] in _QUOTED_START:
        return cell[1:]
    return cell


class Writer:
    """``csv.writer`` for exports: every ``str`` cell is neutralised; anything else (int, float,
    Decimal: numbers Riadó writes) goes out as it is. Rows end with CRLF, as Excel writes them."""

    def __init__(self, out):
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row) -> None:
        self._writer.writerow([neutralise(cell) if isinstance(cell, str) else cell for cell in row])


def csv_response(text: str, filename: str) -> Response:
    """A CSV file to download: UTF-8 with a BOM, so that Excel opens it as UTF-8."""
    return Response(
        text.encode("utf-8-sig"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
