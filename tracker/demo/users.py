"""The demo's users: one printed sign-in per role, and staff and managers in every country."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from tracker.demo.countries import COUNTRIES
from tracker.models import User

#: The sign-ins printed after seeding, one per role (development only).
DEMO_USERS = [
    {"role": "admin", "email": "admin@example.org", "password": "demo-admin-pass", "countries": []},
    {"role": "manager", "email": "manager@example.org", "password": "demo-manager-pass",
     "countries": ["CD", "CF", "SS", "HT", "LR"]},
    {"role": "staff", "email": "staff@example.org", "password": "demo-staff-pass", "countries": ["CD"]},
    {"role": "donor", "email": "donor@example.org", "password": "demo-donor-pass", "countries": [],
     "donor": "Norway"},
]
_DEMO_NAMES = {
    "admin@example.org": "Demo Administrator",
    "manager@example.org": "Hélène Dufresne",
    "staff@example.org": "Aimée Tshala",
    "donor@example.org": "Ingrid Solberg",
}
#: More users, not printed, so that every country has staff who enter
#: payments and two managers who approve them (never their own), and the whole Fund a second manager.
_MORE_USERS = [
    # role, email, name, countries
    ("staff", "cd.staff1@example.org", "Gloire Mukendi", ["CD"]),
    ("manager", "cd.manager1@example.org", "Thierry Bokanga", ["CD"]),
    ("staff", "cf.staff1@example.org", "Ruth Kogbia", ["CF"]),
    ("staff", "cf.staff2@example.org", "Éric Malendoma", ["CF"]),
    ("manager", "cf.manager1@example.org", "Solange Poutou", ["CF"]),
    ("staff", "ss.staff1@example.org", "Agnes Kiden Lomuro", ["SS"]),
    ("staff", "ss.staff2@example.org", "Peter Wol Arok", ["SS"]),
    ("manager", "ss.manager1@example.org", "Margaret Abiong", ["SS"]),
    ("staff", "ht.staff1@example.org", "Judeline Mompremier", ["HT"]),
    ("staff", "ht.staff2@example.org", "Réginald Fleurimond", ["HT"]),
    ("manager", "ht.manager1@example.org", "Claudette Bastien", ["HT"]),
    ("staff", "lr.staff1@example.org", "Ophelia Tubman-Sayon", ["LR"]),
    ("staff", "lr.staff2@example.org", "Jefferson Gbollie", ["LR"]),
    ("manager", "lr.manager1@example.org", "Edwina Nagbe", ["LR"]),
    # A second manager of every country: she confirms the allocation plans for the whole Fund that the printed
    # manager makes above the four-eyes threshold.
    ("manager", "fund.manager1@example.org", "Mariam Sesay", ["CD", "CF", "SS", "HT", "LR"]),
]


def seed_users(seeder):
    from tracker.auth.services import create_user

    wanted = [(u["role"], u["email"], _DEMO_NAMES.get(u["email"]), u["countries"], u.get("donor"), u["password"])
              for u in DEMO_USERS]
    passwords = {u["role"]: u["password"] for u in DEMO_USERS}
    wanted += [(role, email, name, countries, None, passwords[role]) for role, email, name, countries in _MORE_USERS]
    by_email = {}
    for role, email, name, countries, donor, password in wanted:
        user = seeder.session.scalars(select(User).where(User.email == email)).one_or_none()
        if user is None:
            user = create_user(email=email, role=role, password=password, countries=countries,
                               donor_name=donor, name=name)
            seeder.counts["users"] += 1
        by_email[email] = user
    seeder.staff = defaultdict(list)
    seeder.managers = defaultdict(list)
    for _role, email, _name, _countries, _donor, _password in wanted:
        user = by_email[email]
        if user.role not in ("staff", "manager") or not user.active:
            continue
        for country in user.countries:
            (seeder.staff if user.role == "staff" else seeder.managers)[country].append(user.id)
    for country in COUNTRIES:
        if not seeder.staff[country] or len(seeder.managers[country]) < 2:
            raise RuntimeError(f"demo users for {country} are missing or inactive")
    seeder.allocator_id = by_email["manager@example.org"].id
    seeder.progress(f"Users: {seeder.counts['users']} created")
