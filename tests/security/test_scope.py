"""Country scope: staff and managers see only their countries' records; outside is a 404."""
import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from tests import factories
from tracker.auth.scope import apply_scope, get_scoped_or_404, in_scope, scoped_select, user_countries
from tracker.main.queries import scope_summary
from tracker.models import Beneficiary, Child, Disbursement, Enrolment, Project

CD, CF, HT = "TF-CD-2025-01", "TF-CF-2025-01", "TF-HT-2025-01"


@pytest.fixture
def projects(app):
    with app.app_context():
        for code, country in ((CD, "CD"), (CF, "CF"), (HT, "HT")):
            factories.ProjectFactory(code=code, country=country)


def listed(client) -> set[str]:
    response = client.get("/projects/")
    assert response.status_code == 200
    return {code for code in (CD, CF, HT) if code.encode() in response.data}


# --- pages -----------------------------------------------------------------------------------


def test_staff_cannot_see_project_of_another_country(projects, staff_client):
    assert staff_client.get(f"/projects/{CF}").status_code == 404


def test_staff_sees_project_of_own_country(projects, staff_client):
    response = staff_client.get(f"/projects/{CD}")
    assert response.status_code == 200
    assert CD.encode() in response.data


def test_staff_list_shows_only_own_country(projects, staff_client):
    assert listed(staff_client) == {CD}


def test_staff_cannot_list_another_country_by_filtering(projects, staff_client):
    response = staff_client.get("/projects/?country=CF")
    assert response.status_code == 200
    assert CF.encode() not in response.data


def test_manager_of_two_countries_sees_both_and_not_a_third(projects, manager_client):
    assert listed(manager_client) == {CD, CF}
    assert manager_client.get(f"/projects/{CF}").status_code == 200
    assert manager_client.get(f"/projects/{HT}").status_code == 404


def test_admin_sees_every_country(projects, admin_client):
    assert listed(admin_client) == {CD, CF, HT}
    assert admin_client.get(f"/projects/{HT}").status_code == 200


def test_unknown_project_is_404(projects, admin_client):
    assert admin_client.get("/projects/TF-XX-1999-99").status_code == 404


# --- the query helper ---------------------------------------------------------------------------


@pytest.fixture
def people(db):
    """A mother, child, enrolment and disbursement in each of a CD and a CF project."""
    out = {}
    for country in ("CD", "CF"):
        project = factories.ProjectFactory(code=f"TF-{country}-2025-01", country=country)
        enrolment = factories.EnrolmentFactory(child__mother__project=project)
        mother = enrolment.child.mother
        disbursement = factories.DisbursementFactory(beneficiary=mother, reference=f"D-{country}-1")
        out[country] = {
            Project: project.code,
            Beneficiary: mother.code,
            Child: enrolment.child.code,
            Enrolment: enrolment.id,
            Disbursement: disbursement.reference,
        }
    return out


def _keys(db, model, user):
    key = {Project: Project.code, Beneficiary: Beneficiary.code, Child: Child.code, Enrolment: Enrolment.id,
           Disbursement: Disbursement.reference}[model]
    return set(db.session.scalars(apply_scope(select(key), model, user)).all())


@pytest.mark.parametrize("model", [Project, Beneficiary, Child, Enrolment, Disbursement])
def test_scope_restricts_through_the_project_country(db, people, model):
    staff_cd = factories.UserFactory(role="staff", countries=["CD"])
    staff_cf = factories.UserFactory(role="staff", countries=["CF"])
    manager = factories.UserFactory(role="manager", countries=["CD", "CF"])
    admin = factories.UserFactory(role="admin")

    assert _keys(db, model, staff_cd) == {people["CD"][model]}
    assert _keys(db, model, staff_cf) == {people["CF"][model]}
    assert _keys(db, model, manager) == {people["CD"][model], people["CF"][model]}
    assert _keys(db, model, admin) == {people["CD"][model], people["CF"][model]}


@pytest.mark.parametrize("model", [Project, Beneficiary, Child, Enrolment, Disbursement])
def test_donor_and_staff_without_country_see_no_record(db, people, model):
    donor = factories.UserFactory(role="donor", donor=factories.DonorFactory())
    nowhere = factories.UserFactory(role="staff", countries=[])
    assert _keys(db, model, donor) == set()
    assert _keys(db, model, nowhere) == set()


def test_scope_follows_the_project_not_the_mother_country_column(db):
    cf_project = factories.ProjectFactory(country="CF")
    mother = factories.BeneficiaryFactory(project=cf_project, country="CD")
    staff_cd = factories.UserFactory(role="staff", countries=["CD"])
    staff_cf = factories.UserFactory(role="staff", countries=["CF"])
    assert db.session.scalars(scoped_select(Beneficiary, staff_cd)).all() == []
    assert [b.code for b in db.session.scalars(scoped_select(Beneficiary, staff_cf))] == [mother.code]


def test_lookup_outside_scope_is_not_found(db, people):
    staff_cd = factories.UserFactory(role="staff", countries=["CD"])
    assert get_scoped_or_404(Beneficiary, staff_cd, code=people["CD"][Beneficiary]).code == people["CD"][Beneficiary]
    with pytest.raises(NotFound):
        get_scoped_or_404(Beneficiary, staff_cd, code=people["CF"][Beneficiary])
    with pytest.raises(NotFound):
        get_scoped_or_404(Child, staff_cd, code=people["CF"][Child])


def test_a_model_without_scope_is_refused(db):
    from tracker.models import Donor

    with pytest.raises(TypeError):
        scoped_select(Donor, factories.UserFactory(role="admin"))


def test_user_countries_and_in_scope(db):
    manager = factories.UserFactory(role="manager", countries=["CF", "CD"])
    admin = factories.UserFactory(role="admin")
    assert user_countries(manager) == ["CD", "CF"]
    assert user_countries(admin) is None
    assert in_scope("CD", manager) and in_scope("CF", manager) and not in_scope("HT", manager)
    assert in_scope("HT", admin)


def test_home_counts_only_what_the_user_may_see(db, people):
    staff_cd = factories.UserFactory(role="staff", countries=["CD"])
    admin = factories.UserFactory(role="admin")
    factories.ProjectFactory(country="HT", status="closed")
    mine = scope_summary(staff_cd)
    assert (mine.projects, mine.active_projects, mine.active_mothers, mine.children) == (1, 1, 1, 1)
    everyone = scope_summary(admin)
    assert (everyone.projects, everyone.active_projects, everyone.active_mothers, everyone.children) == (3, 2, 2, 2)
