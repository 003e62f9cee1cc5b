"""Donors' and projects' names in French (``name_fr``, ``title_fr``): for the reports issued in French.

``Donor.name_in(lang)`` and ``Project.title_in(lang)`` give the French text to a French reader when it is set.
The two optional import columns (DESIGN section 7) are read the same way row by row and in batches: blank means
none, too long is ``row N: column: message``, a second import adds nothing, and a file made before the column
existed (its header lacks it) leaves the recorded French text as it is. The donor and project forms set, change
and clear it, audited as every edit; the show pages show it.
"""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import _user_client
from tests.funding.batch_helpers import CD, CF, both, csv_file
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.funding import services
from tracker.models import AuditEvent, Donor, Project

DONOR_COLUMNS = ["name", "kind", "country", "name_fr"]
DONOR_COLUMNS_BEFORE = ["name", "kind", "country"]
PROJECT_COLUMNS = ["code", "title", "country", "partner", "start_date", "end_date", "status", "title_fr"]
PROJECT_COLUMNS_BEFORE = PROJECT_COLUMNS[:-1]


# --- the names for a reader ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["fr", "fr_CA", "fr-BE", "FR"])
def test_a_french_reader_gets_the_french_name_and_title(lang):
    donor = Donor(name="Norway", name_fr="Norvège")
    project = Project(title="Assistance in Ituri", title_fr="Assistance en Ituri")
    assert donor.name_in(lang) == "Norvège"
    assert project.title_in(lang) == "Assistance en Ituri"


@pytest.mark.parametrize("lang", ["en", "en_GB", "", "de"])
def test_other_readers_get_the_english_name_and_title(lang):
    donor = Donor(name="Norway", name_fr="Norvège")
    project = Project(title="Assistance in Ituri", title_fr="Assistance en Ituri")
    assert donor.name_in(lang) == "Norway"
    assert project.title_in(lang) == "Assistance in Ituri"


@pytest.mark.parametrize("french", [None, "", "   "])
def test_without_a_french_name_a_french_reader_gets_the_english_one(french):
    assert Donor(name="Norway", name_fr=french).name_in("fr") == "Norway"
    assert Project(title="Assistance in Ituri", title_fr=french).title_in("fr") == "Assistance in Ituri"


# --- services --------------------------------------------------------------------------------------------------------

def test_a_donor_is_given_a_french_name_then_loses_it(rq):
    donor = services.create_donor(name="Norway", kind="member_state", country="NO", name_fr="  Norvège ")
    assert donor.name_fr == "Norvège"
    services.update_donor(donor=donor, name="Norway", kind="member_state", country="NO", name_fr="   ")
    assert donor.name_fr is None


def test_two_donors_may_share_a_french_name(rq):
    services.create_donor(name="Kingdom of Norway", kind="member_state", name_fr="Norvège")
    services.create_donor(name="Norway", kind="member_state", name_fr="Norvège")
    assert _db.session.scalars(select(Donor.name).where(Donor.name_fr == "Norvège").order_by(Donor.name)).all() == [
        "Kingdom of Norway", "Norway"]


def test_a_french_name_or_title_too_long_is_refused(rq):
    with pytest.raises(Invalid) as refused:
        services.create_donor(name="Norway", kind="member_state", name_fr="N" * 201)
    assert refused.value.errors == {"name_fr": "is too long (at most 200 characters)"}
    with pytest.raises(Invalid) as refused:
        services.save_project(code="TF-CD-2025-09", title="Assistance", title_fr="T" * 301, country="CD",
                              partner="NGO", start_date="2025-01-01", end_date="2025-12-31", status="active")
    assert refused.value.errors == {"title_fr": "is too long (at most 300 characters)"}
    # The longest allowed.
    assert services.create_donor(name="Norway", kind="member_state", name_fr="N" * 200).name_fr == "N" * 200


# --- donors file -----------------------------------------------------------------------------------------------------

def recorded_donors():
    """Japan without a French name, Sweden with one."""
    factories.DonorFactory(name="Japan", kind="member_state", country="JP")
    factories.DonorFactory(name="Sweden", kind="member_state", country="SE", name_fr="Suède")


def donors_by_name(records) -> dict[str, tuple]:
    return {d["name"]: (d["kind"], d["country"], d["name_fr"]) for d in records["donors"]}


def test_donors_file_with_french_names_sets_them_then_adds_nothing(funding_manager, batch_rows):
    data = csv_file(
        DONOR_COLUMNS,
        ["Japan", "member_state", "JP", "Japon"],                        # given one
        ["Sweden", "member_state", "SE", "Suède"],                       # as recorded
        ["Kingdom of Norway", "member_state", "NO", " Royaume de Norvège "],  # new
        ["African Union", "intergovernmental", "", ""],                  # new, without one
    )
    row_by_row, in_batches = both("donors", data, funding_manager, recorded_donors)
    assert in_batches == row_by_row
    summary, (records, events), again = row_by_row
    assert summary == ([], (2, 1, 1), True)
    assert again == ([], (0, 0, 4), True)
    assert donors_by_name(records) == {
        "Japan": ("member_state", "JP", "Japon"), "Sweden": ("member_state", "SE", "Suède"),
        "Kingdom of Norway": ("member_state", "NO", "Royaume de Norvège"),
        "African Union": ("intergovernmental", None, None)}
    assert [(action, entity_id, changes) for action, _entity, entity_id, _user, changes in events[:-1]] == [
        ("update", "Japan", {"name_fr": [None, "Japon"]}),
        ("create", "Kingdom of Norway", {"id": [None, "Kingdom of Norway"], "name": [None, "Kingdom of Norway"],
                                         "kind": [None, "member_state"], "country": [None, "NO"],
                                         "name_fr": [None, "Royaume de Norvège"]}),
        ("create", "African Union", {"id": [None, "African Union"], "name": [None, "African Union"],
                                     "kind": [None, "intergovernmental"]}),
    ]


def test_a_blank_french_name_removes_the_recorded_one(funding_manager, batch_rows):
    data = csv_file(DONOR_COLUMNS, ["Sweden", "member_state", "SE", "  "])
    row_by_row, in_batches = both("donors", data, funding_manager, recorded_donors)
    assert in_batches == row_by_row
    summary, (records, events), _again = row_by_row
    assert summary == ([], (0, 1, 0), True)
    assert donors_by_name(records)["Sweden"] == ("member_state", "SE", None)
    assert events[0][4] == {"name_fr": ["Suède", None]}


def test_a_donors_file_without_the_column_keeps_the_french_names(funding_manager, batch_rows):
    data = csv_file(
        DONOR_COLUMNS_BEFORE,
        ["Japan", "member_state", "JP"],          # as recorded
        ["Sweden", "member_state", ""],           # its country removed, its French name kept
        ["Kingdom of Norway", "member_state", "NO"],
    )
    row_by_row, in_batches = both("donors", data, funding_manager, recorded_donors)
    assert in_batches == row_by_row
    summary, (records, events), again = row_by_row
    assert summary == ([], (1, 1, 1), True)
    assert again == ([], (0, 0, 3), True)
    assert donors_by_name(records) == {
        "Japan": ("member_state", "JP", None), "Sweden": ("member_state", None, "Suède"),
        "Kingdom of Norway": ("member_state", "NO", None)}
    assert events[0][4] == {"country": ["SE", None]}


def test_a_french_name_too_long_is_an_error_of_its_row_and_column(funding_manager, batch_rows):
    data = csv_file(
        DONOR_COLUMNS,
        ["Kingdom of Norway", "member_state", "NO", "Royaume de Norvège"],
        ["Japan", "member_state", "JP", "J" * 201],           # recorded
        ["African Union", "intergovernmental", "", "U" * 201],  # new
        ["Sweden", "member_state", "SE", "S" * 200],          # the longest allowed
    )
    row_by_row, in_batches = both("donors", data, funding_manager, recorded_donors)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 3: name_fr: is too long (at most 200 characters)",
        "row 4: name_fr: is too long (at most 200 characters)",
    ], (1, 1, 0), False)


def test_the_import_command_names_the_row_and_column_of_a_french_name_too_long(app, runner, tmp_path):
    path = tmp_path / "donors.csv"
    path.write_bytes(csv_file(DONOR_COLUMNS, ["Norway", "member_state", "NO", "Norvège"],
                              ["Sweden", "member_state", "SE", "S" * 201]))
    result = runner.invoke(args=["import", "donors", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["row 3: name_fr: is too long (at most 200 characters)"]


# --- projects file ---------------------------------------------------------------------------------------------------

def recorded_projects():
    """TF-CD-2025-01 without a French title, TF-CF-2025-01 with one (both 2025–2026, active)."""
    factories.ProjectFactory(code=CD, country="CD", title="Assistance in CD",
                             partner=factories.PartnerFactory(name="NGO CD"))
    factories.ProjectFactory(code=CF, country="CF", title="Assistance in CF", title_fr="Assistance en RCA",
                             partner=factories.PartnerFactory(name="NGO CF"))


def project(code, title, country="CD", partner="NGO CD", status="active", title_fr=None):
    row = [code, title, country, partner, "2025-01-01", "2026-12-31", status]
    return row if title_fr is None else [*row, title_fr]


def titles(records) -> dict[str, tuple]:
    return {p["code"]: (p["title"], p["title_fr"], p["status"]) for p in records["projects"]}


def test_projects_file_with_french_titles_sets_them_then_adds_nothing(funding_manager, batch_rows):
    data = csv_file(
        PROJECT_COLUMNS,
        project(CD, "Assistance in CD", title_fr="Assistance en RDC"),                           # given one
        project(CF, "Assistance in CF", "CF", "NGO CF", title_fr="Assistance en RCA"),           # as recorded
        project("TF-CD-2025-02", "Assistance in Bunia", title_fr="Assistance à Bunia"),          # new
        project("TF-CD-2025-03", "Assistance in Goma", title_fr=""),                             # new, without one
    )
    row_by_row, in_batches = both("projects", data, funding_manager, recorded_projects)
    assert in_batches == row_by_row
    summary, (records, events), again = row_by_row
    assert summary == ([], (2, 1, 1), True)
    assert again == ([], (0, 0, 4), True)
    assert titles(records) == {
        CD: ("Assistance in CD", "Assistance en RDC", "active"),
        CF: ("Assistance in CF", "Assistance en RCA", "active"),
        "TF-CD-2025-02": ("Assistance in Bunia", "Assistance à Bunia", "active"),
        "TF-CD-2025-03": ("Assistance in Goma", None, "active")}
    assert [(e[0], e[2]) for e in events[:-1]] == [("update", CD), ("create", "TF-CD-2025-02"),
                                                   ("create", "TF-CD-2025-03")]
    assert events[0][4] == {"title_fr": [None, "Assistance en RDC"]}
    assert events[1][4]["title_fr"] == [None, "Assistance à Bunia"]
    assert "title_fr" not in events[2][4]


def test_a_blank_french_title_removes_the_recorded_one(funding_manager, batch_rows):
    data = csv_file(PROJECT_COLUMNS, project(CF, "Assistance in CF", "CF", "NGO CF", title_fr=" "))
    row_by_row, in_batches = both("projects", data, funding_manager, recorded_projects)
    assert in_batches == row_by_row
    summary, (records, events), _again = row_by_row
    assert summary == ([], (0, 1, 0), True)
    assert titles(records)[CF] == ("Assistance in CF", None, "active")
    assert events[0][4] == {"title_fr": ["Assistance en RCA", None]}


def test_a_projects_file_without_the_column_keeps_the_french_titles(funding_manager, batch_rows):
    data = csv_file(
        PROJECT_COLUMNS_BEFORE,
        project(CD, "Assistance in CD"),                                # as recorded
        project(CF, "Assistance in CF", "CF", "NGO CF", "closed"),      # closed, its French title kept
        project("TF-CD-2025-02", "Assistance in Bunia"),
    )
    row_by_row, in_batches = both("projects", data, funding_manager, recorded_projects)
    assert in_batches == row_by_row
    summary, (records, events), again = row_by_row
    assert summary == ([], (1, 1, 1), True)
    assert again == ([], (0, 0, 3), True)
    assert titles(records) == {
        CD: ("Assistance in CD", None, "active"), CF: ("Assistance in CF", "Assistance en RCA", "closed"),
        "TF-CD-2025-02": ("Assistance in Bunia", None, "active")}
    assert events[0][4] == {"status": ["active", "closed"]}


def test_a_french_title_too_long_is_an_error_of_its_row_and_column(funding_manager, batch_rows):
    data = csv_file(
        PROJECT_COLUMNS,
        project("TF-CD-2025-02", "Assistance in Bunia", title_fr="Assistance à Bunia"),
        project(CD, "Assistance in CD", title_fr="T" * 301),                 # recorded
        project("TF-CD-2025-03", "Assistance in Goma", title_fr="G" * 301),  # new
        project(CF, "Assistance in CF", "CF", "NGO CF", title_fr="C" * 300),  # the longest allowed
    )
    row_by_row, in_batches = both("projects", data, funding_manager, recorded_projects)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 3: title_fr: is too long (at most 300 characters)",
        "row 4: title_fr: is too long (at most 300 characters)",
    ], (1, 1, 0), False)


# --- screens ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def world(app) -> dict:
    """Japan and Sweden, without French names; TF-CD-2025-01 (2025–2026, NGO CD, active), without a French title."""
    with app.app_context():
        with factories.one_commit():
            factories.ProjectFactory(code=CD, country="CD", title="Assistance in CD",
                                     partner=factories.PartnerFactory(name="NGO CD"))
            japan = factories.DonorFactory(name="Japan", country="JP")
            sweden = factories.DonorFactory(name="Sweden", country="SE")
        return {"japan": japan.id, "sweden": sweden.id}


def text(response) -> str:
    return response.get_data(as_text=True)


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    return list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))


def audit_changes(app, entity: str) -> list[dict]:
    with app.app_context():
        return [e.changes for e in _db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.entity == entity)
            .order_by(AuditEvent.id))]


def test_a_new_donor_is_recorded_with_its_french_name_and_shows_it(world, manager_client, app):
    form = manager_client.get("/donors/new")
    assert 'id="name_fr"' in text(form) and "Name in French" in text(form)
    response = manager_client.post("/donors/new", data={"name": "Norway", "kind": "member_state", "country": "NO",
                                                        "name_fr": "Norvège"})
    assert response.status_code == 302
    with app.app_context():
        donor = _db.session.scalars(select(Donor).where(Donor.name == "Norway")).one()
        assert donor.name_fr == "Norvège"
    page = text(manager_client.get(response.headers["Location"]))
    assert '<dt>Name in French</dt><dd lang="fr">Norvège</dd>' in page


def test_a_donors_french_name_is_set_then_cleared_and_each_edit_is_audited(world, manager_client, app):
    sweden = {"name": "Sweden", "kind": "member_state", "country": "SE"}
    assert manager_client.post(f"/donors/{world['sweden']}/edit", data={**sweden, "name_fr": "Suède"}).status_code \
        == 302
    assert 'value="Suède"' in text(manager_client.get(f"/donors/{world['sweden']}/edit"))
    assert "Suède" in text(manager_client.get(f"/donors/{world['sweden']}"))

    assert manager_client.post(f"/donors/{world['sweden']}/edit", data={**sweden, "name_fr": " "}).status_code == 302
    with app.app_context():
        assert _db.session.get(Donor, world["sweden"]).name_fr is None
    assert "Name in French" not in text(manager_client.get(f"/donors/{world['sweden']}"))
    assert audit_changes(app, "donors") == [{"name_fr": [None, "Suède"]}, {"name_fr": ["Suède", None]}]


def test_a_donors_french_name_too_long_is_shown_beside_the_field(world, manager_client, app):
    response = manager_client.post(f"/donors/{world['sweden']}/edit",
                                   data={"name": "Sweden", "kind": "member_state", "country": "SE",
                                         "name_fr": "S" * 201})
    assert response.status_code == 200
    assert 'id="name_fr-error">is too long (at most 200 characters)' in text(response)
    with app.app_context():
        assert _db.session.get(Donor, world["sweden"]).name_fr is None


def test_the_donors_export_carries_the_french_name_after_the_imports_columns(world, manager_client, app):
    with app.app_context():
        _db.session.get(Donor, world["japan"]).name_fr = "Japon"
        _db.session.commit()
    rows = csv_rows(manager_client.get("/donors/export.csv"))
    assert list(rows[0]) == ["name", "kind", "country", "name_fr", "pledged_usd", "received_usd",
                             "outstanding_usd"]
    assert {r["name"]: r["name_fr"] for r in rows} == {"Japan": "Japon", "Sweden": ""}


def project_form(**changes) -> dict:
    return {"code": "TF-CD-2025-07", "title": "Assistance in Bunia", "country": "CD", "partner": "Bunia Women",
            "start_date": "2025-03-01", "end_date": "2026-12-31", "status": "active", "description": "", **changes}


def test_a_new_project_is_created_with_its_french_title_and_shows_it(world, manager_client, app):
    assert "Title in French" in text(manager_client.get("/projects/new"))
    response = manager_client.post("/projects/new", data=project_form(title_fr="Assistance à Bunia"))
    assert response.status_code == 302
    with app.app_context():
        assert _db.session.scalars(select(Project.title_fr).where(Project.code == "TF-CD-2025-07")).one() \
            == "Assistance à Bunia"
    page = text(manager_client.get("/projects/TF-CD-2025-07"))
    assert '<dt>Title in French</dt><dd lang="fr">Assistance à Bunia</dd>' in page


def test_a_projects_french_title_is_set_then_cleared_and_each_edit_is_audited(world, manager_client, app):
    edit = f"/projects/{CD}/edit"
    form = project_form(title="Assistance in CD", start_date="2025-01-01", partner="NGO CD")
    assert manager_client.post(edit, data={**form, "title_fr": "Assistance en RDC"}).status_code == 302
    assert 'value="Assistance en RDC"' in text(manager_client.get(edit))
    assert "Assistance en RDC" in text(manager_client.get(f"/projects/{CD}"))

    assert manager_client.post(edit, data={**form, "title_fr": ""}).status_code == 302
    with app.app_context():
        assert _db.session.scalars(select(Project.title_fr).where(Project.code == CD)).one() is None
    assert "Title in French" not in text(manager_client.get(f"/projects/{CD}"))
    assert audit_changes(app, "projects") == [{"title_fr": [None, "Assistance en RDC"]},
                                              {"title_fr": ["Assistance en RDC", None]}]


def test_a_projects_french_title_too_long_is_shown_beside_the_field(world, admin_client, app):
    page = text(admin_client.post("/projects/new", data=project_form(title_fr="T" * 301)))
    assert 'id="title_fr-error">is too long (at most 300 characters)' in page
    with app.app_context():
        assert _db.session.scalars(select(Project).where(Project.code == "TF-CD-2025-07")).one_or_none() is None


def test_the_forms_speak_french_to_a_french_manager(world, app):
    client = _user_client(app, role="manager", email="gestionnaire@example.org", countries=["CD", "CF"],
                          locale="fr")
    donor_form = text(client.get(f"/donors/{world['japan']}/edit"))
    assert "Nom en français" in donor_form
    assert "Facultatif\u00a0: le nom employé dans les rapports établis en français" in donor_form
    project_form_page = text(client.get(f"/projects/{CD}/edit"))
    assert "Intitulé en français" in project_form_page
