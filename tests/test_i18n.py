"""The French catalogue is complete, every string people read is marked, and formats follow the language.

(a) Messages are extracted from the code as it is now (as ``make extract-messages`` does)
    and compared with ``tracker/translations/fr/LC_MESSAGES/messages.po``.
(b) Templates and Python are scanned for text shown to people that is not marked for
    translation; each offender is listed as ``file:line``.
(c) Money and dates are formatted by Babel for the reader's language.
"""
from __future__ import annotations

import ast
import datetime as dt
import html.parser
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from jinja2 import nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
PACKAGE = ROOT / "tracker"
FRENCH_PO = PACKAGE / "translations" / "fr" / "LC_MESSAGES" / "messages.po"

# --- (a) the French catalogue -----------------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, request):
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    previous = Path.cwd()
    import os

    os.chdir(ROOT)
    try:
        CommandLineInterface().run([
            "pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
            "-k", "ngettext:1,2", "--no-location", "--sort-output", "-o", str(pot), ".",
        ])
    finally:
        os.chdir(previous)
    with pot.open("rb") as handle:
        return read_po(handle)


@pytest.fixture(scope="module")
def french():
    with FRENCH_PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def _forms(message):
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def test_extraction_finds_messages(extracted):
    assert len([m for m in extracted if m.id]) > 100


def test_french_header(french):
    assert str(french.locale) == "fr"
    assert french.num_plurals == 2
    assert french.plural_expr.replace(" ", "") == "(n>1)"


def test_french_catalogue_has_every_message(extracted, french):
    missing = [m.id for m in extracted if m.id and french.get(m.id, context=m.context) is None]
    assert not missing, (f"{len(missing)} messages are not in {FRENCH_PO.name} (run `make extract-messages`):\n"
                         + "\n".join(repr(i) for i in missing))


def test_french_catalogue_is_translated(french):
    problems = []
    for message in french:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if any(not form or not form.strip() for form in _forms(message)):
            problems.append(f"untranslated: {message.id!r}")
        if message.pluralizable and len(_forms(message)) != 2:
            problems.append(f"needs two plural forms: {message.id!r}")
    assert not problems, "\n".join(problems)


def test_french_placeholders_are_kept(french):
    problems = []
    for message in french:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for original in ids:
            if sorted(PLACEHOLDER.findall(original)) != expected:
                problems.append(f"singular and plural differ in placeholders: {ids!r}")
        for form in _forms(message):
            if form and sorted(PLACEHOLDER.findall(form)) != expected:
                problems.append(f"{ids[0]!r} -> {form!r}: placeholders {expected}")
    assert not problems, "\n".join(problems)


def test_french_catalogue_passes_babel_checks(french):
    errors = [(m.id, [str(e) for e in errs]) for m, errs in french.check() if errs]
    assert not errors, errors


def test_french_catalogue_has_no_obsolete_leftovers_of_fuzzy_matching(french):
    assert not [m.id for m in french if m.fuzzy and m.id]


# --- (b) strings people read are marked -------------------------------------------------------------------------------

#: Text that may stand in a template as is: codes, symbols and names that read the same in every language.
TEMPLATE_ALLOWED = {
    "CSV", "XLSX", "PDF", "UTC", "SHA-256", "ISO", "USD", "XAF", "HTG", "EUR", "OK", "UN", "—", "–", "·", "$", "%",
    "×", "→", "←", "…", "/", "(", ")", ":", ",", ".", "+", "-", "|", "#", "*",
}
#: HTML attributes whose values people read.
VISIBLE_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "label", "summary", "abbr"}
#: Keyword arguments of macros and helpers called from templates that carry text for people.
VISIBLE_KEYWORDS = {"hint", "label", "title", "placeholder", "caption", "help", "empty", "description", "confirm",
                    "button", "legend", "text", "message"}
GETTEXT_NAMES = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext", "npgettext"}
MARKER = "\x00"


#: Codes shown as examples, such as ``CD-M-00042`` or ``TF-CD-2025-01``: the same in every language.
CODE = re.compile(r"^(?=.*\d)[A-Z0-9]+(?:[-/.][A-Z0-9]+)+$")
#: Language names are shown in their own language (a reader looks for "Français", not "French").
ENDONYMS = {"English", "Français"}


def _has_words(text: str) -> bool:
    if text.strip() in ENDONYMS:
        return False
    text = re.sub(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);", " ", text)  # HTML entities
    text = text.replace(MARKER, " ")
    for token in text.split():
        token = token.strip("()[]{}:;,.!?\"'«»")
        if token and token not in TEMPLATE_ALLOWED and not CODE.match(token) and re.search(r"[^\W\d_]", token):
            return True
    return False


class _TextCollector(html.parser.HTMLParser):
    """Text nodes and visible attribute values of the markup (Jinja parts replaced by a marker)."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and _has_words(value):
                self.found.append((self.getpos()[0], f'{name}="{value}"'))
        if tag == "input":
            kinds = dict(attrs)
            if kinds.get("type") in ("submit", "button", "reset") and kinds.get("value") and _has_words(kinds["value"]):
                self.found.append((self.getpos()[0], f'value="{kinds["value"]}"'))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and _has_words(data):
            self.found.append((self.getpos()[0], data.strip()))


def _template_files():
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".svg", ".txt"))


@pytest.fixture(scope="module")
def jinja_env():
    from config import TestingConfig
    from tracker import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://").jinja_env


def _markup_without_jinja(env, source: str, name: str) -> str:
    """The template with every ``{{ }}``, ``{% %}`` and ``{# #}`` (and ``{% trans %}`` bodies) blanked.

    Line breaks are kept, so the HTML parser's line numbers are the template's.
    """
    parts: list[str] = []
    in_trans = 0
    last_name = None
    for _lineno, kind, value in env.lex(source, name):
        if kind == "data" and not in_trans:
            parts.append(value)
            continue
        if kind == "name":
            if last_name == "block_begin" and value == "trans":
                in_trans += 1
            elif last_name == "block_begin" and value == "endtrans":
                in_trans -= 1
        last_name = kind if kind != "whitespace" else last_name
        text = value if isinstance(value, str) else str(value)
        if kind == "variable_begin":
            parts.append(f" {MARKER} ")  # output: counts as a word of its own, never as text
        elif kind == "block_begin":
            parts.append(" ")
        else:
            parts.append("\n" * text.count("\n"))
    return "".join(parts)


def _template_literals(tree):
    """String constants given to macros and helpers as visible text, not through ``_()``."""
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in GETTEXT_NAMES:
            continue
        for keyword in call.kwargs:
            if keyword.key in VISIBLE_KEYWORDS:
                for const in _bare_constants(keyword.value):
                    yield const.lineno, f"{keyword.key}={const.value!r}"


def _bare_constants(node):
    """Constants with words in ``node``, unless they are the arguments of a gettext call."""
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name in GETTEXT_NAMES:
        return
    if isinstance(node, nodes.Const):
        if isinstance(node.value, str) and _has_words(node.value):
            yield node
    elif isinstance(node, nodes.CondExpr):  # the test (x == "school_fees") is not shown
        yield from _bare_constants(node.expr1)
        if node.expr2 is not None:
            yield from _bare_constants(node.expr2)
    elif isinstance(node, (nodes.Concat, nodes.Add, nodes.Or)):
        for child in node.iter_child_nodes():
            yield from _bare_constants(child)
    elif isinstance(node, nodes.Mod):
        yield from _bare_constants(node.left)
    elif isinstance(node, nodes.Filter) and node.node is not None:
        yield from _bare_constants(node.node)


def test_templates_mark_text_for_translation(jinja_env):
    offenders = []
    for path in _template_files():
        relative = path.relative_to(ROOT)
        source = path.read_text(encoding="utf-8")
        tree = jinja_env.parse(source, path.name, str(path))  # also: every template parses
        collector = _TextCollector()
        collector.feed(_markup_without_jinja(jinja_env, source, path.name))
        collector.close()
        offenders += [f"{relative}:{line}: {text[:80]!r}" for line, text in collector.found]
        offenders += [f"{relative}:{line}: {text[:80]}" for line, text in _template_literals(tree)]
    assert not offenders, "Text not marked for translation ({{ _(\"...\") }}):\n" + "\n".join(offenders)


def _template_offenders(env, source: str) -> list[int]:
    collector = _TextCollector()
    collector.feed(_markup_without_jinja(env, source, "sample.html"))
    collector.close()
    found = [line for line, _text in collector.found]
    found += [line for line, _text in _template_literals(env.parse(source))]
    return sorted(found)


def test_the_template_scan_catches_plain_text(jinja_env):
    sample = (
        "<h1>Payments</h1>\n"                                               # 1: plain text
        "<p>{{ _(\"Marked\") }} · {{ x|money }} — CSV · XLSX · 2025-2026</p>\n"  # 2: fine
        "<input placeholder=\"Search here\" title=\"{{ _('Ok') }}\">\n"   # 3: placeholder
        "<tr{% if x %} class=\"over\"{% endif %}><td>CD-M-00042</td></tr>\n"  # 4: fine
        "{{ field(form.x, hint=\"Type it\") }}\n"                          # 5: literal hint
        "{{ field(form.y, hint=_(\"Type it\") if x == \"school_fees\" else None) }}\n"  # 6: fine
        "{% trans %}Already marked{% endtrans %}\n"                          # 7: fine
        "<script>var label = 'not text';</script>\n"                        # 8: fine
        "{# a comment with words #}&nbsp;&mdash;\n"                          # 9: fine
        "<button>{{ _(\"Save\") }}</button> or cancel\n"                   # 10: plain text
    )
    assert _template_offenders(jinja_env, sample) == [1, 3, 5, 10]


#: WTForms fields and the project's field helpers: the first argument is the label.
FIELD_CONSTRUCTORS = {
    "StringField", "SelectField", "SelectMultipleField", "RadioField", "BooleanField", "TextAreaField",
    "PasswordField", "EmailField", "IntegerField", "DecimalField", "FloatField", "DateField", "DateTimeField",
    "DateTimeLocalField", "TimeField", "MonthField", "FileField", "MultipleFileField", "SubmitField",
    "SearchField", "TelField", "URLField", "HiddenField", "IntegerRangeField", "DecimalRangeField",
    "date_field", "amount_field",
}
#: WTForms validators: ``message=`` is shown next to the field.
VALIDATORS = {"DataRequired", "InputRequired", "Length", "NumberRange", "Regexp", "Email", "EqualTo", "AnyOf",
              "NoneOf", "Optional", "URL", "FileRequired", "FileAllowed", "FileSize"}
VISIBLE_RENDER_KW = {"title", "placeholder", "aria-label", "alt"}


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _unmarked(node) -> list[ast.AST]:
    """The parts of an expression that put untranslated words in front of people."""
    if node is None:
        return []
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, str) and _has_words(node.value) else []
    if isinstance(node, ast.JoinedStr):
        literal = " ".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return [node] if _has_words(literal) else []
    if isinstance(node, ast.BinOp):  # "Saved %s" % x, "a" + b
        return _unmarked(node.left) + (_unmarked(node.right) if isinstance(node.op, ast.Add) else [])
    if isinstance(node, ast.IfExp):
        return _unmarked(node.body) + _unmarked(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [n for value in node.values for n in _unmarked(value)]
    if isinstance(node, ast.Call) and _callee(node) == "str" and node.args:
        return _unmarked(node.args[0])
    return []  # names, attributes, calls (such as _() and _l()): not literal text


def _choice_labels(node) -> list[ast.AST]:
    if isinstance(node, (ast.List, ast.Tuple)):
        found = []
        for item in node.elts:
            if isinstance(item, ast.Tuple) and len(item.elts) >= 2:
                found += _unmarked(item.elts[1])
        return found
    if isinstance(node, ast.BinOp):
        return _choice_labels(node.left) + _choice_labels(node.right)
    if isinstance(node, ast.ListComp) and isinstance(node.elt, ast.Tuple) and len(node.elt.elts) >= 2:
        return _unmarked(node.elt.elts[1])
    return []


def _python_offenders(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            kwargs = {k.arg: k.value for k in node.keywords if k.arg}
            if name == "flash" and node.args:
                found += [(n, "flash()") for n in _unmarked(node.args[0])]
            elif name == "Invalid" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Dict):
                    found += [(n, "Invalid({...})") for v in first.values for n in _unmarked(v)]
                else:
                    found += [(n, "Invalid()") for n in _unmarked(first)]
            elif name == "abort" and "description" in kwargs:
                found += [(n, "abort(description=)") for n in _unmarked(kwargs["description"])]
            elif name == "Column" and "help" in kwargs:
                found += [(n, "Column(help=)") for n in _unmarked(kwargs["help"])]
            elif name == "Kind" and "label" in kwargs:
                found += [(n, "Kind(label=)") for n in _unmarked(kwargs["label"])]
            elif name == "SelectChoice":  # an option of a select: SelectChoice(value, label)
                label = node.args[1] if len(node.args) > 1 else kwargs.get("label")
                found += [(n, "SelectChoice() label") for n in _unmarked(label)]
            elif name in FIELD_CONSTRUCTORS:
                label = node.args[0] if node.args else kwargs.get("label")
                found += [(n, f"{name}() label") for n in _unmarked(label)]
                if "description" in kwargs:
                    found += [(n, f"{name}(description=)") for n in _unmarked(kwargs["description"])]
            elif name in VALIDATORS and "message" in kwargs:
                found += [(n, f"{name}(message=)") for n in _unmarked(kwargs["message"])]
            if "choices" in kwargs:
                found += [(n, "choices") for n in _choice_labels(kwargs["choices"])]
            if isinstance(kwargs.get("render_kw"), ast.Dict):
                render_kw = kwargs["render_kw"]
                for key, value in zip(render_kw.keys, render_kw.values):
                    if isinstance(key, ast.Constant) and key.value in VISIBLE_RENDER_KW:
                        found += [(n, f"render_kw[{key.value!r}]") for n in _unmarked(value)]
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "choices":
                    found += [(n, ".choices =") for n in _choice_labels(node.value)]
    return sorted({(n.lineno, what) for n, what in found})


def test_python_marks_text_for_translation():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        offenders += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _python_offenders(tree)]
    assert not offenders, "Text not marked for translation (_() or _l()):\n" + "\n".join(offenders)


def test_the_python_scan_catches_plain_strings():
    sample = ast.parse(
        "flash('Saved')\n"
        "flash(f'Saved {x}', 'success')\n"
        "raise Invalid({'amount': 'Too big'})\n"
        "abort(404, description='Not here')\n"
        "Column('amount', help='Digits')\n"
        "Kind(name='x', label='Payments')\n"
        "name = StringField('Name')\n"
        "kind = SelectField(_l('Kind'), choices=[('a', 'Apples'), ('b', _l('Bananas'))])\n"
        "form.x.choices = [(k, 'Label %s' % k) for k in ks]\n"
        "flash(_('Saved'))\n"
        "raise Invalid(_l('Too big'), 'amount')\n"
        "y = StringField(_l('Name'), render_kw={'placeholder': '2025-2026'})\n"
        "LANGUAGES = [SelectChoice('en', 'English'), SelectChoice('fr', label='French')]\n"
        "blank = [SelectChoice('', _('Choose…')), SelectChoice('', '—'), SelectChoice(code, name)]\n"
    )
    assert [line for line, _what in _python_offenders(sample)] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 13]


# --- (c) formats follow the reader's language -------------------------------------------------------------------------

def test_french_and_english_formats(app):
    from flask_babel import force_locale

    from tracker import formatting

    with app.test_request_context("/"):
        with force_locale("fr"):
            assert formatting.format_money(Decimal("1250.50"), "USD") == "1\u202f250,50\u00a0$US"
            assert formatting.date(dt.date(2026, 11, 27)) == "27 nov. 2026"
        with force_locale("en"):
            assert formatting.format_money(Decimal("1250.50"), "USD") == "$1,250.50"
            assert formatting.date(dt.date(2026, 11, 27)) == "Nov 27, 2026"


def test_a_currency_written_in_letters_is_kept_apart_from_its_figure(app):
    """Babel writes ``CDF120,500.00`` in English; the app writes ``CDF 120,500.00`` (a no-break space), and
    leaves a symbol (``$``, ``€``) and the French order, which is already spaced, as they are."""
    from flask_babel import force_locale

    from tracker import formatting

    with app.test_request_context("/"):
        with force_locale("en"):
            assert formatting.format_money(Decimal("120500.00"), "CDF") == "CDF\u00a0120,500.00"
            assert formatting.format_money(Decimal("-120500.00"), "CDF") == "-CDF\u00a0120,500.00"
            assert formatting.format_money(Decimal("120500"), "XAF", whole=True) == "FCFA\u00a0120,500"
            assert formatting.format_money(Decimal("-5.25"), "EUR") == "-€5.25"
        with force_locale("fr"):
            assert formatting.format_money(Decimal("120500.00"), "CDF") == "120\u202f500,00\u00a0CDF"


def test_whole_money_for_charts_rounds_half_even_and_keeps_the_locale_pattern(app):
    from flask_babel import force_locale

    from tracker import formatting

    with app.test_request_context("/"), force_locale("fr"):
        assert formatting.format_money(Decimal("1250.50"), "USD", whole=True) == "1\u202f250\u00a0$US"
        assert formatting.format_money(Decimal("0.00"), "USD", whole=True) == "0\u00a0$US"
    with app.test_request_context("/"), force_locale("en"):
        # Half-even: 1,250.50 to the even 1,250; 1,251.50 to the even 1,252; 0.49 to 0.
        assert formatting.format_money(Decimal("1250.50"), "USD", whole=True) == "$1,250"
        assert formatting.format_money(Decimal("1251.50"), "USD", whole=True) == "$1,252"
        assert formatting.format_money(Decimal("0.49"), "USD", whole=True) == "$0"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_labels_read_the_same_as_their_lazy_strings(app, lang):
    """label() translates each label's message itself (tracker/vocab.py): the same text as the lazy string's."""
    from flask_babel import force_locale

    from tracker.vocab import LABELS, label

    with app.test_request_context(), force_locale(lang):
        assert {key: label(key) for key in LABELS} == {key: str(text) for key, text in LABELS.items()}
        if lang == "fr":
            assert label("school_fees") == "Frais de scolarité"
        assert label("no such word") == "no such word"


def test_translations_follow_a_forced_locale_inside_a_request(app):
    """The per-request memo of tracker/i18n.py follows force_locale in and out (a PDF in another language)."""
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string("{{ _('Mothers') }}") == "Mothers"
        with force_locale("fr"):
            assert render_template_string("{{ _('Mothers') }}") == "Mères"
        assert render_template_string("{{ _('Mothers') }}") == "Mothers"


def test_a_label_of_a_fixed_word_follows_each_request_language(app):
    """Jinja folds a filter of a constant when it compiles a template, unless the filter takes the context:
    ``"received"|label`` must not keep the language of the first request that compiled it."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ 'withdrawn'|label }} {{ 'CD'|country }}"
    with app.test_request_context():
        with force_locale("fr"):
            assert render_template_string(template) == "Retiré République démocratique du Congo"
        with force_locale("en"):
            assert render_template_string(template) == "Withdrawn Democratic Republic of the Congo"
