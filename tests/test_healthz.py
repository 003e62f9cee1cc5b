"""GET /healthz: open to anyone, 200 while the database answers, 503 when it does not, and never any data."""
from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tracker.extensions import db as _db


def test_health_is_ok_without_sign_in_while_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_health_is_503_with_nothing_said_when_the_database_does_not_answer(app, client, monkeypatch):
    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server: Connection refused"))

    with app.app_context():
        monkeypatch.setattr(_db.session, "execute", unreachable)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable\n"
    assert "Connection refused" not in response.get_data(as_text=True)
