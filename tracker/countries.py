"""Countries: ISO 3166 alpha-2 codes, names from Babel in the reader's language."""
from __future__ import annotations

import functools

from babel import Locale
from wtforms.fields.choices import SelectChoice

from tracker.crypto import normalise_name

#: Countries with Trust Fund projects today, and their local currencies.
PROGRAMME_COUNTRIES = {
    "CD": "CDF",
    "CF": "XAF",
    "SS": "SSP",
    "HT": "HTG",
    "LR": "LRD",
}

# CLDR's two-letter territories that ISO 3166-1 does not assign: groupings and placeholders (EU, EZ, UN, QO,
# XA, XB, ZZ), Kosovo's user-assigned XK, and the "exceptionally reserved" codes (Ascension AC, Clipperton CP,
# Sark CQ, Diego Garcia DG, Ceuta and Melilla EA, the Canary Islands IC, Tristan da Cunha TA). What is left
# is exactly ISO 3166-1's 249 countries and territories.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}
COUNTRY_CODES: frozenset[str] = frozenset(
    code for code in Locale("en").territories if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


def is_country(code: str | None) -> bool:
    return bool(code) and code in COUNTRY_CODES


#: Names as the UN writes them, where CLDR's short form differs.
_UN_NAMES = {
    ("CD", "en"): "Democratic Republic of the Congo",
    ("CD", "fr"): "République démocratique du Congo",
    ("CG", "en"): "Republic of the Congo",
    ("CG", "fr"): "République du Congo",
    # The UN's French terminology (UNTERM) writes Libéria; CLDR keeps the English spelling.
    ("LR", "fr"): "Libéria",
}


@functools.cache
def _territories(locale: str) -> dict:
    return Locale.parse(locale).territories


def country_name(code: str, locale: str = "en") -> str:
    language = str(locale).split("_")[0]
    return _UN_NAMES.get((code, language)) or _territories(str(locale)).get(code, code)


def name_key(name: str) -> str:
    """A country name as it is sorted: accents folded and case ignored, so Bénin comes between Belgique and
    Bhoutan, not after Burundi."""
    return normalise_name(name)


def country_choices(locale: str = "en", *, programme_first: bool = True) -> list[SelectChoice]:
    """Every country as a select option, in the order of its name; the programme countries first unless not wanted."""
    everyone = sorted((SelectChoice(c, country_name(c, locale)) for c in COUNTRY_CODES), key=lambda item: item.label)
    if not programme_first:
        return everyone
    first = [SelectChoice(c, country_name(c, locale)) for c in PROGRAMME_COUNTRIES]
    return first + [item for item in everyone if item.value not in PROGRAMME_COUNTRIES]
