"""Partners and projects."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from tracker.demo.countries import COUNTRIES
from tracker.demo.helpers import month_end
from tracker.demo.story import PARTNERS, PROJECT_TITLES_FR, PROJECTS
from tracker.models import Partner, Project


def seed_partners_and_projects(seeder):
    rng = seeder.rng("projects")
    partners = {}
    for name, kind in PARTNERS.items():
        partner = seeder.session.scalars(select(Partner).where(Partner.name == name)).one_or_none()
        if partner is None:
            partner = Partner(name=name, kind=kind)
            seeder.session.add(partner)
            seeder.counts["partners"] += 1
        partners[name] = partner
    seeder.session.flush()
    taken = set(seeder.session.scalars(select(Project.code)))
    seeder.projects = []
    for (key, country, partner, title, (sy, sm), (ey, em), status, share, profile,
         places) in PROJECTS:
        start = dt.date(seeder.y1 + sy, sm, 1)
        end = month_end(dt.date(seeder.y1 + ey, em, 1))
        number = 1
        while f"TF-{country}-{start.year}-{number:02d}" in taken:
            number += 1
        code = f"TF-{country}-{start.year}-{number:02d}"
        taken.add(code)
        project = Project(
            code=code, title=title, title_fr=PROJECT_TITLES_FR[key], country=country, partner=partners[partner],
            start_date=start, end_date=end, status=status, created_at=seeder.at(rng, min(start, seeder.last), country),
            description=(f"Implemented by {partner}. Assistance to survivors of sexual exploitation and abuse "
                         f"and to their children in {', '.join(p.split(' (')[0] for p in places[:3])}: "
                         "school fees and materials, income-generating activities, medical, psychosocial "
                         "and legal support, paid to schools and providers on the beneficiaries' behalf."),
        )
        seeder.session.add(project)
        seeder.projects.append(SimpleNamespace(
            key=key, model=project, code=code, country=country, start=start, end=end, status=status,
            share=share, profile=profile, places=places, currency=COUNTRIES[country]["currency"]))
    seeder.session.flush()
    for p in seeder.projects:
        p.id = p.model.id
    seeder.counts["projects"] = len(seeder.projects)
    seeder.progress(f"Projects: {len(seeder.projects)}")
