"""The names of the CSV files' columns and the words in their cells, as codes and in both UI
languages.

An export for a page names its columns as the forms and lists do, in the page's language
(``Név``, ``Beosztás, feladat``, ``Riasztási csoportok``, ``SMS-hozzájárulás``), and writes the
words of its cells in it too (``igen``, ``Szivattyú``, ``bevetésen``); asked for codes (the API's
default), it writes ``name``, ``role``, ``groups``, ``sms_opt_in``, ``yes``, ``pump``,
``deployed``. The importer takes any of these, in either language, whatever their case and
spacing, so that every export imports back."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l

from ..config import LOCALES
from ..labels import RESOURCE_STATUS_LABELS
from ..validation import clean_name

CODES = "codes"
LABELS = "labels"
HEADERS = (LABELS, CODES)  # how an export names its columns

# Hungarian column names people put in their own spreadsheets (a UI label of the column, in
# either language, is taken too: see ``Table.names``).
ALIASES = {
    "azonosító": "id", "azonosito": "id",
    "név": "name", "nev": "name", "megnevezés": "name", "megnevezes": "name",
    "telefon": "phone", "telefonszám": "phone", "telefonszam": "phone", "mobil": "phone",
    "e-mail": "email", "email cím": "email", "e-mail cím": "email",
    "szervezet": "organization", "intézmény": "organization", "intezmeny": "organization",
    "szerep": "role", "beosztás": "role", "beosztas": "role", "feladat": "role",
    "csoportok": "groups", "csoport": "groups",
    "sms": "sms_opt_in", "sms hozzájárulás": "sms_opt_in", "sms_hozzajarulas": "sms_opt_in",
    "szélesség": "latitude", "szelesseg": "latitude", "lat": "latitude",
    "hosszúság": "longitude", "hosszusag": "longitude", "lon": "longitude", "lng": "longitude",
    "megjegyzés": "notes", "megjegyzes": "notes",
    "fajta": "kind", "típus": "kind", "tipus": "kind",
    "mennyiség": "quantity", "mennyiseg": "quantity", "darab": "quantity",
    "egység": "unit", "egyseg": "unit", "mértékegység": "unit",
    "befogadóképesség": "capacity", "kapacitás": "capacity", "kapacitas": "capacity",
    "állapot": "status", "allapot": "status",
    "tulajdonos": "owner",
    # "Kapcsolattartó" is the label of the contact person's name (``contact``), as the form shows it.
    "kapcsolattarto": "contact", "kapcsolattartó neve": "contact", "kapcsolattarto neve": "contact",
    # A shelter's register (the reception).
    "nyilvántartási szám": "id", "születési év": "birth_year", "szuletesi ev": "birth_year", "született": "birth_year",
    "háztartás": "household", "haztartas": "household", "család": "household",
    "szükségletek": "needs", "szuksegletek": "needs", "igények": "needs",
}


def word_key(text: str) -> str:
    """What a column name or a cell word is compared by: as shown (composed, invisible
    characters aside), ignoring case and how it is spaced."""
    return " ".join(clean_name(text).split()).casefold()


def page_locale() -> str:
    return str(get_locale() or LOCALES[0])


def _locales_page_first() -> list[str]:
    here = page_locale()
    return [here, *(code for code in LOCALES if code != here)]


def in_locale(text, locale: str) -> str:
    """A lazy UI string in ``locale``."""
    with force_locale(locale):
        return str(text)


@dataclass(frozen=True)
class Table:
    """The columns of one kind of file: their codes in the export's order, those required, and
    the UI's name of each (``also``: other UI names of a column, such as a form's longer label)."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    labels: dict
    also: dict = field(default_factory=dict)

    def header(self, headers: str = CODES) -> list[str]:
        """The header row of an export: the codes, or the labels in the page's language."""
        return list(self.columns) if headers == CODES else [str(self.labels[code]) for code in self.columns]

    def label(self, code: str) -> str:
        """A column's name in the page's language (the code of a field that is no column)."""
        return str(self.labels[code]) if code in self.labels else code

    def names(self) -> dict[str, str]:
        """Every accepted column name (``word_key``) → its code: people's own names, the UI's
        labels in every language (a label wins over a look-alike of people's), and the codes."""
        found = {word_key(alias): code for alias, code in ALIASES.items() if code in self.columns}
        for locale in LOCALES:
            with force_locale(locale):
                for code in self.columns:
                    for label in (self.labels[code], *self.also.get(code, ())):
                        found[word_key(str(label))] = code
        found.update({word_key(code): code for code in self.columns})
        return found

    def accepted(self) -> str:
        """Each column's code and its names in both UI languages, page's language first, for
        a message: ``name / Név / Name; phone / Telefonszám / Phone; …`` (a name may have a comma)."""
        parts = []
        for code in self.columns:
            names = [code]
            for locale in _locales_page_first():
                label = in_locale(self.labels[code], locale)
                if word_key(label) not in {word_key(n) for n in names}:
                    names.append(label)
            parts.append(" / ".join(names))
        return "; ".join(parts)


CONTACTS = Table(
    columns=("id", "name", "phone", "email", "organization", "role", "groups", "sms_opt_in", "latitude", "longitude",
             "notes"),
    required=("name", "phone"),
    labels={
        "id": _l("Id"), "name": _l("Name"), "phone": _l("Phone"), "email": _l("Email"),
        "organization": _l("Organization"), "role": _l("Task or position"), "groups": _l("Alert groups"),
        "sms_opt_in": _l("SMS consent"), "latitude": _l("Latitude"), "longitude": _l("Longitude"),
        "notes": _l("Notes"),
    },
    also={"sms_opt_in": (_l("Agrees to receive SMS alerts"),), "groups": (_l("Alert group"),)},
)
RESOURCES = Table(
    columns=("id", "name", "kind", "quantity", "unit", "capacity", "status", "owner", "contact_id", "contact",
             "latitude", "longitude", "notes"),
    required=("name", "kind", "latitude", "longitude"),
    labels={
        "id": _l("Id"), "name": _l("Name"), "kind": _l("Kind"), "quantity": _l("Quantity"), "unit": _l("Unit"),
        "capacity": _l("Capacity (persons)"), "status": _l("Status"), "owner": _l("Owner"),
        "contact_id": _l("Contact person's id"), "contact": _l("Contact person"), "latitude": _l("Latitude"),
        "longitude": _l("Longitude"), "notes": _l("Notes"),
    },
)


class Words:
    """The words of a cell that holds a code (a resource's kind or status): the code itself, or
    its label in either UI language, case and spacing aside. A label that two codes share, or
    that reads as another code, means nothing (the cell is then refused, naming the codes)."""

    def __init__(self, labels: dict[str, list[str]]):
        self._codes = {word_key(code): code for code in labels}
        meanings: dict[str, set[str]] = {}
        for code, names in labels.items():
            for name in names:
                meanings.setdefault(word_key(name), set()).add(code)
        self._labels = {key: next(iter(codes)) for key, codes in meanings.items()
                        if len(codes) == 1 and key not in self._codes}

    def code(self, cell: str) -> str:
        """The code a cell means; the cell itself if none (the validation then names it)."""
        key = word_key(cell)
        return self._codes.get(key) or self._labels.get(key) or cell

    def word(self, code: str, label: str) -> str:
        """What an export with labels writes for ``code``: its label, unless that would not
        read back as this code."""
        return label if label and self.code(label) == code else code


def kind_words(kinds) -> Words:
    """The words of the ``kind`` cells (``ResourceKind`` rows, with their two labels)."""
    return Words({kind.code: [kind.label_hu, kind.label_en] for kind in kinds})


def status_words() -> Words:
    """The words of the ``status`` cells."""
    return Words({code: [in_locale(label, locale) for locale in LOCALES]
                  for code, label in RESOURCE_STATUS_LABELS.items()})


def yes_no(value: bool, headers: str) -> str:
    """A yes/no cell: ``yes``/``no`` with codes, else in the page's language (``igen``/``nem``);
    the importer reads both (``validation.TRUE_WORDS``)."""
    if headers == CODES:
        return "yes" if value else "no"
    return str(_l("yes") if value else _l("no"))
