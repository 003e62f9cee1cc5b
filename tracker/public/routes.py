"""The public claims page: the Fund's paternity claims by Member State, as of the end of last month.

Off unless ``PUBLIC_CLAIMS_DASHBOARD`` is on: publishing is the Fund's decision. It shows exactly the public
figures of :func:`tracker.registry.claim_public.public_json` (the figures of ``flask report claims --public``),
so the page, the command and the API cannot disagree; no code, name or date of any one claim reaches it.
"""
from __future__ import annotations

from flask import abort, current_app, make_response, request, url_for
from flask_babel import get_locale

from tracker.auth.permissions import PUBLIC, permission
from tracker.forms import AUTONYMS
from tracker.models.base import today
from tracker.public.blueprint import bp
from tracker.registry.claim_figures import OPEN_STEPS, OUTCOMES, TRANSITIONS, transition_key
from tracker.registry.claim_public import COMPLEMENT_MARK, public_json, public_summary


def chosen_language() -> str:
    """``?lang=`` when it is one of the page's languages, else the browser's best match (the locale selector
    in tracker/__init__.py asks this for the pages of this blueprint; nothing remembers the choice)."""
    asked = request.args.get("lang")
    if asked in AUTONYMS:
        return asked
    return request.accept_languages.best_match(list(AUTONYMS)) or "en"


@bp.route("/public/claims")
@permission(PUBLIC)
def claims():
    """The public figures; 404 while the setting is off. Cached for an hour, by language (tracker/security.py)."""
    if not current_app.config.get("PUBLIC_CLAIMS_DASHBOARD"):
        abort(404)
    summary = public_summary(today())
    data = public_json(summary)
    lang = str(get_locale() or "en")
    switch = [{"code": code, "name": name, "url": url_for("public.claims", lang=code), "current": code == lang}
              for code, name in AUTONYMS.items()]
    # The template straight from Jinja, without the context processors: Flask-Login's would load the signed-in
    # user (and their session) for a page that is the same for everyone and never touches a session.
    template = current_app.jinja_env.get_template("public/claims.html")
    response = make_response(template.render(
        data=data, as_of=summary.to, min_cell=summary.min_cell,
        complement_mark=COMPLEMENT_MARK,
        open_steps=OPEN_STEPS, outcomes=OUTCOMES,
        transitions=[(start, end, transition_key((start, end))) for start, end in TRANSITIONS],
        languages=switch, lang=lang))
    response.vary.add("Accept-Language")
    return response
