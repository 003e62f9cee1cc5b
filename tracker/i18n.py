"""The reader's locale and translations, looked up once per request instead of once per string.

flask-babel finds the request's locale and its translations again for every string translated and every
amount formatted (two trips through Flask's context-local proxies each time): hundreds of look-ups for a list
page. Both are kept here on flask-babel's own per-request namespace, keyed by the locale object itself, so that
``force_locale`` (a PDF in the report's language) and ``refresh`` (a user who just changed language) are
followed: a new locale object is a new look-up.
"""
from __future__ import annotations

from flask.globals import _cv_app
from flask_babel import get_locale, get_translations


def _babel_context():
    app_context = _cv_app.get(None)
    if app_context is None:
        return None
    return app_context.g.__dict__.get("_flask_babel")


def _memo(name: str):
    context = _babel_context()
    if context is None:
        return None
    found = context.__dict__.get(name)
    if found is not None and found[0] is context.__dict__.get("babel_locale"):
        return found[1]
    return None


def _remember(name: str, value) -> None:
    context = _babel_context()
    locale = None if context is None else context.__dict__.get("babel_locale")
    if locale is not None:
        setattr(context, name, (locale, value))


def translations():
    """flask-babel's ``get_translations()``, once per request and locale."""
    found = _memo("tracker_translations")
    if found is None:
        found = get_translations()
        _remember("tracker_translations", found)
    return found


def locale_code() -> str:
    """The reader's language (``en`` or ``fr``), for Babel's functions that take a locale."""
    found = _memo("tracker_locale_code")
    if found is None:
        found = str(get_locale() or "en")
        _remember("tracker_locale_code", found)
    return found


def init_app(app) -> None:
    """Templates translate through :func:`translations` (call after flask-babel's ``init_app``)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
