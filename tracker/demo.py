"""Deterministic, realistic demo data behind ``flask seed-demo``.

All randomness comes from :class:`random.Random` seeded from ``--seed`` (one
generator per part, derived from the seed, so that one part never shifts
another), and the only other input is today's date: the data covers the
current calendar year and the previous one, and nothing is dated after
yesterday. The same seed on the same day gives the same data.

People and payments are generated per project in chunks of mothers and
written in bulk, so memory stays bounded at a large ``--scale``: Core
``INSERT`` executemany (with ``RETURNING`` ids where other rows point at them)
or, on PostgreSQL, ``COPY`` with ids drawn from the tables' own sequences.
Column types (``Money``, ``Encrypted``, ``UTCDateTime``) apply either way. The
budgets, allocations, pledges and contributions are derived afterwards from
what the projects actually spent, so that the data tells the Fund's story, last
year and this year so far: some projects are well covered and others far from
it, one has paid and approved beyond its allocations and another has about a
month of money left; the Fund holds some unallocated money and pledges still
owed (in several currencies, whose rates moved both ways), and a quarter or so
of the year's need is covered by nothing at all. ``--scale K``
multiplies the people and payments by K; the money of budgets, allocations,
pledges and contributions follows (their number does not).
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, text, update

from tracker import audit
from tracker.dates import add_months
from tracker.crypto import keyring, normalise_name
from tracker.database import refresh_planner_statistics
from tracker.extensions import db
from tracker.models import (
    Allocation,
    AuditEvent,
    Beneficiary,
    BudgetLine,
    Child,
    ClaimStep,
    CodeSequence,
    Contribution,
    Disbursement,
    Donor,
    Enrolment,
    ExchangeRate,
    IncomeProject,
    IncomeReport,
    Partner,
    PaternityClaim,
    Pledge,
    Project,
    User,
)
from tracker.models.base import today as _today
from tracker.money import exponent, to_usd
from tracker.registry.codes import child_code, mother_code

__all__ = ["DEMO_USERS", "DemoRefused", "database_is_empty", "holds_demo", "refusal", "seed_demo"]

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
#: payments and two managers who approve them (never their own).
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
]

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
_MOTHERS_PER_SCALE = 600
_CHUNK = 500    # mothers generated and written at a time
_BATCH = 5000   # rows per INSERT executemany
_DIRECT = ("school_fees", "iga", "medical", "psychosocial", "legal", "material")

# ---------------------------------------------------------------------------
# Countries: names, places, schools, providers, fees.
# ---------------------------------------------------------------------------

_CD = dict(
    currency="CDF",
    women=["Esther", "Furaha", "Neema", "Aline", "Chantal", "Solange", "Jeanne", "Bahati", "Riziki", "Sifa",
           "Mapendo", "Faida", "Nsimire", "Kahindo", "Kavira", "Masika", "Zawadi", "Christine", "Françoise",
           "Bernadette", "Annie", "Dorcas", "Naomie", "Grâce", "Josée", "Clarisse", "Nadine", "Rachel",
           "Espérance", "Divine", "Consolata", "Mwamini", "Asifiwe", "Tumaini", "Bénédicte", "Marie-Claire",
           "Vumilia", "Safi", "Jolie", "Ornella"],
    boys=["Emmanuel", "Patrick", "Olivier", "Josué", "Daniel", "Moïse", "David", "Christian", "Exaucé", "Prince",
          "Bienvenu", "Héritier", "Glodi", "Dieumerci", "Jonathan", "Samuel", "Élie", "Baraka", "Amani", "Chance",
          "Isaac", "Joël", "Blaise", "Fiston", "Arsène", "Trésor", "Benjamin", "Merveille", "Jérémie", "Gédéon"],
    surnames=["Mbuyi", "Mutombo", "Ilunga", "Kasongo", "Tshibangu", "Ngoy", "Kalume", "Muhindo", "Paluku",
              "Kambale", "Kasereka", "Mumbere", "Sikuli", "Bisimwa", "Cirhuza", "Mirindi", "Baguma", "Bulambo",
              "Lukusa", "Mwamba", "Kapinga", "Nzuzi", "Makiese", "Lokwa", "Bolingo", "Nsimba", "Lutete",
              "Mulumba", "Kyalu", "Ngabo", "Byamungu", "Zihindula", "Balagizi", "Amisi", "Asumani", "Lubala",
              "Kavugho", "Vahwere", "Mukeba", "Kitenge"],
    phone=lambda r: f"0{r.choice(['81', '82', '84', '85', '89', '90', '97', '99'])} "
                    f"{r.randint(0, 999):03d} {r.randint(0, 9999):04d}",
    primary=["EP Mapendo", "EP Tumaini", "EP Umoja", "EP Majengo", "EP Bethel", "EP 1 Katindo",
             "École primaire Sainte-Thérèse", "EP Kyeshero", "EP Amani", "EP La Colombe"],
    secondary=["Complexe scolaire La Fraternité", "Institut Bahati", "Institut Kasika",
               "Complexe scolaire Les Volcans", "Lycée Mwangaza", "Institut Tuungane"],
    grades=["P1", "P2", "P3", "P4", "P5", "P6", "S1", "S2", "S3", "S4", "S5", "S6"], n_primary=6,
    fee_primary=(20000, 60000), fee_secondary=(45000, 120000), fee_step=500,
    usd_fee_share=0, usd_share=0.08, step=Decimal(500), grant_step=Decimal(5000),
    clinics=["Centre de santé Kyeshero", "Hôpital général de référence de Rutshuru", "Centre hospitalier Bon Samaritain",
             "Centre de santé Mama Amani", "Pharmacie La Référence", "Hôpital général de Bunia"],
    counsellors=["Centre d'écoute Tujenge", "Maison d'écoute Mama Tumaini", "Cellule psychosociale de Goma"],
    lawyers=["Clinique juridique de Goma", "Cabinet Maître Kambale Sivanzire", "Clinique juridique de Bukavu"],
    suppliers=["Ets Bahati & Fils", "Boutique Mama Neema", "Quincaillerie Umoja", "Dépôt agricole Jambo",
               "Ets Kasereka Machines à coudre", "Alimentation La Grâce"],
    member_states=["ZA", "TZ", "MW", "IN", "PK", "BD", "UY", "MA", "NP", "EG"],
    hours=(6, 15),
    pay_prefix="VIR",
)
_CF = dict(
    currency="XAF",
    women=["Clarisse", "Bernadette", "Odette", "Pulchérie", "Mireille", "Sylvie", "Prisca", "Nathalie", "Brigitte",
           "Léontine", "Rosalie", "Carine", "Gisèle", "Armelle", "Ornella", "Grâce", "Blandine", "Edwige", "Flore",
           "Germaine", "Hortense", "Irène", "Jocelyne", "Laure", "Marguerite", "Nadège", "Pélagie", "Reine",
           "Sandrine", "Thérèse", "Victorine", "Yvette", "Aïcha", "Mariam", "Fatimé", "Hawa", "Ramatou", "Zénabou",
           "Dieudonnée", "Bienvenue"],
    boys=["Jean-de-Dieu", "Rodrigue", "Brice", "Fabrice", "Gervais", "Aristide", "Dieudonné", "Wilfried", "Hervé",
          "Serge", "Junior", "Prosper", "Crépin", "Abdel", "Moussa", "Ismaël", "Ibrahim", "Christian", "Firmin",
          "Romaric", "Gildas", "Parfait", "Stève", "Arnaud", "Ghislain", "Landry", "Evrard", "Josias"],
    surnames=["Ngaba", "Yakité", "Ndakala", "Yangué", "Namkona", "Zanga", "Mbaïkoua", "Doko", "Feïkéram",
              "Koyaméné", "Wanzet", "Sélémby", "Yakéndé", "Zoumaldé", "Dambala", "Kossi", "Ouandé", "Gbadin", "Mbilo",
              "Sambia", "Bagaza", "Dedane", "Ndoumba", "Zokoué", "Gounoumoundjou", "Yanguéré", "Balezou", "Ngoko",
              "Mokamanede", "Zoungoula", "Tchimanguéré", "Ndotah", "Kongbo", "Sandoua", "Gbéyanga", "Ngoulou",
              "Wakanga", "Bénam", "Ndéma", "Kéléfio"],
    phone=lambda r: f"{r.choice(['70', '72', '75', '77'])} {r.randint(0, 99):02d} {r.randint(0, 99):02d} "
                    f"{r.randint(0, 99):02d}",
    primary=["École nationale de Bangui-Boy-Rabe", "École Galabadja 1", "École de Bimbo Centre", "École Combattant",
             "École Sainte-Jeanne-d'Arc", "École préfectorale de Bambari", "École de Kaga-Bandoro Centre",
             "École Gobongo 2"],
    secondary=["Lycée Barthélemy Boganda", "Lycée de Bambari", "Collège Saint-Charles", "Lycée des Martyrs",
               "Lycée de Kaga-Bandoro"],
    grades=["CP1", "CP2", "CE1", "CE2", "CM1", "CM2", "6e", "5e", "4e", "3e", "2nde", "1re", "Tle"], n_primary=6,
    fee_primary=(5000, 15000), fee_secondary=(12000, 40000), fee_step=500,
    usd_fee_share=0, usd_share=0.02, step=Decimal(500), grant_step=Decimal(5000),
    clinics=["Hôpital de l'Amitié", "Centre de santé de Boy-Rabe", "Hôpital préfectoral de Bambari",
             "Centre de santé Gobongo", "Pharmacie Sainte-Anne"],
    counsellors=["Centre d'écoute de Bangui", "Espace sûr des femmes de Bambari"],
    lawyers=["Clinique juridique de Bangui", "Cabinet Maître Zokoué-Dambala"],
    suppliers=["Ets Ngoulou et Frères", "Boutique La Providence", "Quincaillerie du Km 5", "Dépôt Sango Ti Kodro"],
    member_states=["MA", "BD", "PK", "CM", "RW", "BI", "CG", "EG", "ZM", "PE"],
    hours=(7, 16),
    pay_prefix="VIR",
)
_SS = dict(
    currency="SSP",
    women=["Nyandeng", "Achol", "Ayen", "Abuk", "Adut", "Nyibol", "Akuol", "Aluel", "Nyakuoth", "Nyachuol",
           "Nyaluak", "Nyabuony", "Nyadak", "Nyawal", "Mary", "Rebecca", "Elizabeth", "Grace", "Sarah", "Martha",
           "Agnes", "Rose", "Teresa", "Veronica", "Josephine", "Susan", "Poni", "Kiden", "Keji", "Jane", "Nyaruach",
           "Nyakong", "Athieng", "Amer", "Yar", "Nyanut", "Awut", "Ajok", "Aker", "Nyamal"],
    boys=["Deng", "Garang", "Majok", "Mabior", "Chol", "Kuol", "Malual", "Gatluak", "Gatdet", "Ruai", "Lual", "Akol",
          "Thon", "Bol", "Atem", "Wani", "Lado", "Taban", "Juma", "John", "Peter", "James", "Joseph", "Emmanuel",
          "David", "Samuel", "Simon", "Stephen", "Ladu", "Manyang"],
    surnames=["Deng", "Garang", "Akech", "Majok", "Mabior", "Chol", "Kuol", "Malual", "Gatluak", "Gatkuoth", "Ruai",
              "Lual", "Akol", "Thon", "Bol", "Atem", "Wani", "Lado", "Taban", "Jok", "Manyang", "Mayen", "Dut",
              "Ajak", "Ayuel", "Nhial", "Lokuji", "Modi", "Tombe", "Loku", "Yugu", "Pitia", "Kenyi", "Lemi", "Jada",
              "Duku", "Mogga", "Sebit", "Tut", "Koang"],
    phone=lambda r: f"09{r.choice(['1', '2', '8'])}{r.randint(0, 9)} {r.randint(0, 999):03d} {r.randint(0, 999):03d}",
    primary=["Munuki Primary School", "Gudele Basic School", "St. Kizito Primary School", "Malakal Hope Primary",
             "Wau Comboni Primary", "Bentiu Basic School", "Kator Primary School", "Rubkona Primary School"],
    secondary=["Juba Day Secondary", "Juba Commercial Secondary", "Wau Secondary School", "Malakal Secondary School",
               "Nile Academy"],
    grades=["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "S1", "S2", "S3", "S4"], n_primary=8,
    fee_primary=(30000, 90000), fee_secondary=(70000, 200000), fee_step=1000,
    usd_fee_share=0, usd_share=0.10, step=Decimal(1000), grant_step=Decimal(10000),
    clinics=["Juba Teaching Hospital", "Munuki Primary Health Care Centre", "Malakal Teaching Hospital",
             "Wau Teaching Hospital", "Gudele Health Centre"],
    counsellors=["Juba Trauma Healing Centre", "Malakal Women's Safe Space"],
    lawyers=["Juba Legal Aid Clinic", "Advocate Lemi & Partners"],
    suppliers=["Konyo Konyo Traders", "Juba Sewing Supplies", "Wau Agro Inputs", "Hai Malakal General Store"],
    member_states=["IN", "RW", "NP", "BD", "CN", "MN", "GH", "ET", "KR", "PK"],
    hours=(5, 14),
    pay_prefix="TRF",
)
_HT = dict(
    currency="HTG",
    women=["Marie", "Nadège", "Guerline", "Rose-Marie", "Manoucheka", "Fabiola", "Widline", "Mirlande", "Roseline",
           "Jesula", "Fedeline", "Sandra", "Lovely", "Dieunie", "Nerlande", "Myrlande", "Bethsaïda", "Yolette",
           "Marlène", "Judith", "Sabine", "Daphney", "Islande", "Lourdes", "Kettly", "Ketia", "Phara", "Vanessa",
           "Carline", "Darline", "Jertha", "Gina", "Mona", "Fabienne", "Guerda", "Ginette", "Mimose", "Nathacha",
           "Wislande", "Rosemène"],
    boys=["Mackenson", "Wilner", "Peterson", "Jameson", "Woodley", "Kervens", "Stanley", "Wisly", "Ricardo",
          "Jean-Robert", "Frantz", "Jonas", "Davidson", "Schneider", "Dieulson", "Widmarc", "Kenson", "Bradley",
          "Fritz", "Louino", "Wilkens", "Evens", "Lovensky", "Kerby", "Jephté", "Ralph", "Wesner", "Kesnel"],
    surnames=["Joseph", "Pierre", "Jean-Baptiste", "Louis", "Charles", "Saint-Louis", "Dorvil", "Désir", "Fils-Aimé",
              "Jean-Louis", "Augustin", "Alexis", "Étienne", "Michel", "Célestin", "Lafortune", "Exantus",
              "Bien-Aimé", "Dorcé", "Noël", "Petit-Frère", "Métellus", "Jeune", "Sylvain", "Théodore", "François",
              "Saintil", "Jean-Pierre", "Louissaint", "Vilsaint", "Pierre-Louis", "Estimé", "Casséus", "Romélus",
              "Delva", "Orélus", "Dieujuste", "Prévilon", "Antoine", "Jean-Charles"],
    phone=lambda r: f"{r.choice(['31', '34', '36', '37', '38', '39', '46', '47', '48', '49'])}"
                    f"{r.randint(0, 99):02d}-{r.randint(0, 9999):04d}",
    primary=["École nationale de Cité Soleil", "École Saint-Joseph de Carrefour", "Institution mixte La Providence",
             "École communautaire de Martissant", "École nationale de Torbeck", "École Frère Adrien",
             "Institution Sainte-Bernadette", "École nationale de Port-Salut"],
    secondary=["Lycée Pétion", "Collège Notre-Dame des Cayes", "Lycée Philippe Guerrier", "Lycée de Carrefour",
               "Collège Saint-Pierre de Delmas"],
    grades=["1re AF", "2e AF", "3e AF", "4e AF", "5e AF", "6e AF", "7e AF", "8e AF", "9e AF", "NS1", "NS2", "NS3",
            "NS4"], n_primary=6,
    fee_primary=(2500, 7500), fee_secondary=(6000, 15000), fee_step=250,
    usd_fee_share=0, usd_share=0.08, step=Decimal(25), grant_step=Decimal(500),
    clinics=["Hôpital de l'Université d'État d'Haïti", "Centre de santé de Cité Soleil",
             "Hôpital Immaculée Conception des Cayes", "Clinique Lespwa", "Pharmacie Bon Secours"],
    counsellors=["Centre d'écoute Fanm Vanyan", "Espace Sipò Cayes"],
    lawyers=["Bureau d'assistance légale de Port-au-Prince", "Cabinet Maître Casséus-Dorvil"],
    suppliers=["Quincaillerie Bon Berger", "Boutik Lespwa", "Dépôt agricole Sud", "Magasin Machin Koud"],
    member_states=["UY", "BR", "LK", "JO", "NP", "AR", "CL", "PK", "NE", "BJ"],
    hours=(12, 21),
    pay_prefix="VIR",
)
_LR = dict(
    currency="LRD",
    women=["Comfort", "Mercy", "Blessing", "Patience", "Musu", "Korto", "Yah", "Kebeh", "Hawa", "Fatu", "Massa",
           "Oretha", "Princess", "Esther", "Mamie", "Gbessay", "Siatta", "Decontee", "Tenneh", "Jartu", "Watta",
           "Nyenpu", "Bendu", "Satta", "Finda", "Josephine", "Cecelia", "Martha", "Sarah", "Beatrice", "Victoria",
           "Miatta", "Wokie", "Lorpu", "Yei", "Garmai", "Kou", "Nowai", "Marthaline", "Famatta"],
    boys=["Emmanuel", "Prince", "Moses", "Joseph", "Samuel", "Abraham", "Varney", "Momo", "Saye", "Sekou",
          "Mohammed", "Jallah", "Flomo", "Boima", "Alvin", "Jerome", "Augustine", "Exodus", "Prosper", "Junior",
          "Isaac", "Christopher", "Amos", "Kerkula", "Togba", "Tamba", "Fayiah", "Nathaniel"],
    surnames=["Kollie", "Flomo", "Kamara", "Kromah", "Jallah", "Varney", "Dolo", "Toe", "Tarr", "Sumo", "Kpan",
              "Karnga", "Massaquoi", "Fahnbulleh", "Pewee", "Gono", "Tamba", "Kpadeh", "Barclay", "Cooper", "Davies",
              "Nyumah", "Zinnah", "Kiazolu", "Sackor", "Wright", "Mulbah", "Sheriff", "Konneh", "Dukuly",
              "Yarkpawolo", "Bestman", "Cole", "Dennis", "Tweh", "Gbah", "Sayeh", "Togba", "Kerkula", "Saah"],
    phone=lambda r: f"0{r.choice(['77', '88', '55'])}{r.randint(0, 9)} {r.randint(0, 999):03d} "
                    f"{r.randint(0, 999):03d}",
    primary=["West Point Public School", "New Kru Town Elementary", "Paynesville Community School",
             "Logan Town Elementary", "Gbarnga Public School", "Ganta United Methodist School",
             "Clara Town Public School", "Sanniquellie Central School"],
    secondary=["Monrovia Central High", "Paynesville Junior & Senior High", "Gbarnga Central High",
               "Ganta Senior High", "D. Twe Memorial High"],
    grades=[f"Grade {n}" for n in range(1, 13)], n_primary=6,
    fee_primary=(1500, 4500), fee_secondary=(3000, 8000), fee_step=100,
    usd_fee_share=0.3, usd_fee_primary=(10, 25), usd_fee_secondary=(20, 60),
    usd_share=0.35, step=Decimal(25), grant_step=Decimal(1000),
    clinics=["John F. Kennedy Medical Center", "Redemption Hospital", "Phebe Hospital", "Duala Community Clinic",
             "Ganta Methodist Hospital"],
    counsellors=["Monrovia Trauma Counselling Centre", "Bong Women's Safe Space"],
    lawyers=["Monrovia Legal Aid Clinic", "Counsellor Barclay & Associates"],
    suppliers=["Waterside Market Traders", "Red Light General Merchandise", "Gbarnga Agro Supplies",
               "Paynesville Sewing Centre"],
    member_states=["NG", "GH", "BD", "PK", "ET", "JO", "PH", "CN", "SE", "UA"],
    hours=(8, 17),
    pay_prefix="TRF",
)
COUNTRIES = {"CD": _CD, "CF": _CF, "SS": _SS, "HT": _HT, "LR": _LR}

# ---------------------------------------------------------------------------
# Partners and projects. Years are relative: 0 is the previous calendar year.
# ---------------------------------------------------------------------------

_PARTNERS = {
    "UNICEF": "un_entity", "UNFPA": "un_entity", "UNDP": "un_entity", "IOM": "un_entity", "UN Women": "un_entity",
    "Mama Tumaini Foundation": "ngo", "Femmes Debout pour la Dignité": "ngo",
    "Association centrafricaine Espoir des Mamans": "ngo", "Nile Women's Recovery Network": "ngo",
    "Fondasyon Limyè pou Timoun": "ngo", "Mano River Survivors' Aid": "ngo",
}

# key, country, partner, title, (start year offset, month), (end year offset, month), status,
# share of the mothers, funding profile, places
_PROJECTS = [
    ("cd-nk", "CD", "UNICEF", "Education and livelihoods support for children born of SEA, North Kivu",
     (-1, 7), (2, 6), "active", 1.4, "well",
     ["Goma (Ndosho)", "Goma (Mabanga-Sud)", "Goma (Katindo)", "Kiwanja", "Rutshuru", "Sake", "Mugunga", "Kirotshe"]),
    ("cd-it", "CD", "Mama Tumaini Foundation", "Holistic assistance to survivors of SEA and their children, Ituri",
     (0, 1), (2, 12), "active", 1.1, "under",
     ["Bunia (Mudzipela)", "Bunia (Lembabo)", "Mahagi", "Djugu", "Komanda", "Mambasa", "Nizi", "Fataki"]),
    ("cd-sk", "CD", "Femmes Debout pour la Dignité", "Socio-economic reintegration of survivors of SEA, South Kivu",
     (0, 4), (3, 3), "active", 0.9, "mid",
     ["Bukavu (Kadutu)", "Bukavu (Panzi)", "Uvira", "Kavumu", "Kabare", "Walungu", "Kalehe", "Minova"]),
    ("cd-ka", "CD", "IOM", "Paternity claims, legal aid and child support for survivors of SEA, Kasaï",
     (1, 1), (3, 12), "pipeline", 0, None, ["Kananga", "Tshikapa"]),
    ("cf-bg", "CF", "UNFPA", "Medical, psychosocial and schooling support for survivors of SEA, Bangui",
     (-2, 1), (2, 12), "active", 1.0, "well",
     ["Bangui (PK5)", "Bangui (Boy-Rabe)", "Bangui (Galabadja)", "Bangui (Combattant)", "Bimbo", "Bégoua",
      "Bangui (Gobongo)"]),
    ("cf-bb", "CF", "Association centrafricaine Espoir des Mamans",
     "Livelihoods and schooling for children born of SEA, Bambari and Kaga-Bandoro",
     (0, 3), (2, 2), "active", 0.8, "under", ["Bambari", "Kaga-Bandoro", "Sibut", "Grimari", "Bria"]),
    ("ss-jm", "SS", "UNICEF", "Integrated support to survivors of SEA and children born of SEA, Juba and Malakal",
     (-1, 9), (2, 8), "active", 0.9, "mid",
     ["Juba (Gudele)", "Juba (Munuki)", "Juba (Jebel)", "Juba (Kator)", "Malakal", "Malakal (PoC site)"]),
    ("ss-bw", "SS", "Nile Women's Recovery Network", "Livelihood and education support for SEA survivors, Bentiu and Wau",
     (0, 7), (3, 6), "active", 0.5, "under", ["Bentiu", "Rubkona", "Wau", "Jur River", "Bentiu (IDP camp)"]),
    ("ht-pp", "HT", "UN Women",
     "Legal, psychosocial and education support for mothers of children born of SEA, Port-au-Prince",
     (-1, 4), (2, 3), "active", 0.9, "well",
     ["Cité Soleil", "Carrefour", "Delmas", "Martissant", "Croix-des-Bouquets", "Pétion-Ville"]),
    ("ht-sd", "HT", "Fondasyon Limyè pou Timoun",
     "Education and income support for children born of SEA and their mothers, Les Cayes and Port-Salut",
     (0, 2), (2, 1), "active", 0.6, "under", ["Les Cayes", "Port-Salut", "Torbeck", "Camp-Perrin", "Aquin"]),
    ("lr-mo", "LR", "UNFPA", "Education and livelihood support for children born of SEA, Montserrado",
     (-1, 1), (2, 12), "active", 0.8, "mid",
     ["Monrovia (West Point)", "Monrovia (New Kru Town)", "Paynesville", "Logan Town", "Clara Town", "Duala"]),
    ("lr-bn", "LR", "Mano River Survivors' Aid", "Legacy support for survivors of SEA and their children, Bong and Nimba",
     (-3, 1), (0, 12), "closed", 0.5, "mid", ["Gbarnga", "Ganta", "Sanniquellie", "Totota", "Palala"]),
]
#: Per funding profile, percent ranges of (m, a): direct need = direct spending × m (outreach and admin
#: come on top), allocations = direct spending × a, so coverage is about a / (1.17 m).
_PROFILES = {"well": ((118, 128), (114, 124)), "mid": ((150, 175), (106, 112)), "under": ((230, 280), (100, 104))}
#: A pipeline project's yearly need per category, in USD (times the scale).
_PIPELINE_NEED = {"school_fees": 14000, "iga": 8000, "medical": 6000, "psychosocial": 5000, "legal": 12000,
                  "material": 3000}

# ---------------------------------------------------------------------------
# Donors, currencies, exchange rates.
# ---------------------------------------------------------------------------

# name, kind, country, currency, abbreviation, weight (share of the money)
_DONORS = [
    ("Norway", "member_state", "NO", "NOK", "NOR", 10),
    ("Sweden", "member_state", "SE", "SEK", "SWE", 7),
    ("Japan", "member_state", "JP", "JPY", "JPN", 8),
    ("Canada", "member_state", "CA", "CAD", "CAN", 7),
    ("Germany", "member_state", "DE", "EUR", "DEU", 9),
    ("United Kingdom", "member_state", "GB", "GBP", "GBR", 8),
    ("Netherlands", "member_state", "NL", "EUR", "NLD", 5),
    ("Australia", "member_state", "AU", "AUD", "AUS", 4),
    ("Switzerland", "member_state", "CH", "CHF", "CHE", 4),
    ("Ireland", "member_state", "IE", "EUR", "IRL", 3),
    ("Denmark", "member_state", "DK", "DKK", "DNK", 3),
    ("Italy", "member_state", "IT", "EUR", "ITA", 3),
    ("Finland", "member_state", "FI", "EUR", "FIN", 2),
    ("India", "member_state", "IN", "USD", "IND", 2),
    ("Portugal", "member_state", "PT", "EUR", "PRT", 1),
    ("Bangladesh", "member_state", "BD", "USD", "BGD", 1),
    ("Nigeria", "member_state", "NG", "USD", "NGA", 1),
    ("Organisation internationale de la Francophonie", "intergovernmental", None, "EUR", "OIF", 2),
    ("Hope Beyond Harm International", "ngo", None, "GBP", "HBH", 1),
    ("Private donations (online appeal)", "private", None, "USD", "PRV", 1),
    ("Withheld payments (UN personnel)", "withheld_payments", None, "USD", "WHP", 2),
]
#: Earmarked pledges, and how each is paid: (donor, year offset) -> ("country", code) or ("project", project
#: key), and the pattern of its payments (see _pledges_and_contributions). Canada earmarks for Haiti, then for
#: a project in Ituri; Ireland's, Canada's second and the Netherlands' second are still owed.
_EARMARKS = {
    ("Japan", 0): ("country", "CD", "full2"), ("Japan", 1): ("country", "CD", "full"),
    ("Sweden", 0): ("project", "cf-bg", "full"), ("Ireland", 0): ("country", "LR", "partial"),
    ("Canada", 0): ("country", "HT", "full"), ("Canada", 1): ("project", "cd-it", "partial"),
    ("United Kingdom", 1): ("project", "ss-jm", "full"), ("Netherlands", 1): ("country", "CF", "none"),
}
#: Pledges whose first instalment comes in another currency (a euro pledge paid partly in dollars), and
#: their pattern: (donor, year offset) -> (currency, pattern). Italy's is then completed in euros.
_PAID_IN_OTHER_CURRENCY = {("Italy", 0): ("USD", "full2"), ("Portugal", 1): ("USD", "partial")}
#: The Fund is underfunded: for each year, as of its end (or today), what no money received or pledged covers
#: is this share of the year's need (percent range); of what covers the rest of the gap, this share is money
#: received and not allocated yet, and the rest is pledges still to come in.
_UNCOVERED_SHARE = (22, 28)
_UNALLOCATED_SHARE = (25, 35)
#: Two projects whose latest tranche is sized, at the end of last year and today, for a balance of this many
#: percent of their monthly burn: one has approved and paid beyond its allocations, one has a month left.
_BALANCE_STORY = {"ss-bw": (-70, -30), "cd-sk": (80, 140)}

# USD per unit in units of 1e-8: the rate on 1 January of the previous year, its trend in percent a year,
# its monthly noise in per mille, the quantum. The donors' currencies move both ways while their pledges are
# paid (the krone, the yen, the franc and the euro rise against the dollar; the pound, the Swedish krona and
# the Canadian and Australian dollars fall), so that a pledge received in full in its own currency is worth
# more or fewer dollars than when it was made; the South Sudanese pound loses a third of its value.
_RATE_WALKS = {
    "CDF": (36200, -8, 4, 1),
    "XAF": (164000, 3, 3, 10),
    "SSP": (22000, -18, 10, 1),
    "HTG": (757000, 0, 3, 100),
    "LRD": (518000, -2, 3, 100),
    "EUR": (108000000, 3, 3, 10000),
    "GBP": (127000000, -4, 3, 10000),
    "SEK": (9300000, -5, 3, 10000),
    "NOK": (9100000, 6, 3, 10000),
    "DKK": (14500000, 3, 3, 10000),
    "JPY": (660000, 7, 3, 100),
    "CHF": (113000000, 4, 3, 10000),
    "CAD": (73500000, -4, 3, 10000),
    "AUD": (65000000, -5, 3, 10000),
}

_ACTIVITIES = ["tailoring", "small trade", "soap-making", "livestock", "farming", "tea shop", "hairdressing",
               "bakery"]
_EXIT_WEIGHTS = {"graduated": 45, "moved": 25, "withdrew": 20, "deceased": 10}
_CLOSED_EXIT_WEIGHTS = {"graduated": 70, "moved": 15, "withdrew": 10, "deceased": 5}
_IGA_WEIGHTS = {"planned": 10, "active": 45, "struggling": 15, "closed_successful": 20, "closed_failed": 10}
_CLAIM_WEIGHTS = {"received": 8, "notified_to_member_state": 10, "dna_sample_collected": 10,
                  "dna_result_received": 7, "paternity_established": 8, "not_established": 8, "withdrawn": 7,
                  "legally_recognised": 10, "support_ordered": 12, "support_paid": 20}
_CLAIM_BASE = ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received")
_CLAIM_AFTER = ("paternity_established", "legally_recognised", "support_ordered", "support_paid")
_CLAIM_FINAL = ("not_established", "withdrawn", "support_paid")
#: Days from the step before.
_CLAIM_GAPS = {"notified_to_member_state": (10, 60), "dna_sample_collected": (30, 180),
               "dna_result_received": (20, 120), "paternity_established": (3, 45), "not_established": (3, 45),
               "withdrawn": (5, 200), "legally_recognised": (60, 240), "support_ordered": (30, 180),
               "support_paid": (30, 200)}
_CORRECTION_REASONS = ["Date mistyped; corrected from the laboratory's report",
                       "Wrong date entered; corrected from the notification letter",
                       "Date corrected after checking the case file"]
#: Target states of a payment entered in the past, and of one entered ahead of its term.
_PAST_STATES = {"paid": 840, "approved": 40, "submitted": 30, "draft": 20, "rejected": 35, "voided": 35}
_AHEAD_STATES = {"paid": 50, "approved": 30, "submitted": 10, "draft": 10}
_FOLLOW_UP_STATES = {"paid": 90, "approved": 5, "submitted": 5}
_REJECTIONS = ["Amount does not match the school's invoice", "Duplicate of an earlier payment",
               "Invoice missing; please attach it and resubmit", "Wrong payee: the provider's account has changed",
               "Beneficiary not enrolled for this term"]
_VOIDS = ["Paid to the wrong account; reissued", "Duplicate payment recovered from the provider",
          "Provider refunded: the child changed schools", "Entered against the wrong term"]
_INCOME_NOTES = ["Rainy season, fewer customers", "Bought new stock", "Child sick, closed for two weeks",
                 "Market closed during insecurity", "Good month: school opening", "Price of inputs went up"]

_DISBURSEMENT_KEYS = [c.key for c in Disbursement.__table__.columns if c.key != "id"]


#: The only settings (``ENV_NAME`` of the config class, from ``TRACKER_ENV``) that may get demo data: its
#: sign-ins and passwords are published in the README.
DEMO_ENVIRONMENTS = ("development", "testing")
#: The audit event :func:`seed_demo` writes in the transaction that loads the data: the mark of a database
#: the demo seeded. The audit log is append-only, and only seeding writes this action.
DEMO_MARK = "seed_demo"


class DemoRefused(RuntimeError):
    """Demo data may not go into this application's database; the message says why."""


def database_is_empty() -> bool:
    """True when the database holds no project and no user (nothing would clash with demo data)."""
    return (db.session.scalar(select(Project.id).limit(1)) is None
            and db.session.scalar(select(User.id).limit(1)) is None)


def holds_demo() -> bool:
    """Whether :func:`seed_demo` loaded this database (its audit event is there)."""
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == DEMO_MARK).limit(1)) is not None


def refusal() -> str | None:
    """Why demo data may not be loaded here at all, or ``None``; no flag overrides it.

    - Outside development and testing: the demo's users have published passwords, so a
      production (or unknown) setting never gets them, even on an empty database.
    - A database holding people (users, mothers) that the demo did not load: demo data would mix
      with real records. A database the demo seeded itself may be seeded again (``--force``).
    """
    env = current_app.config.get("ENV_NAME")
    if env not in DEMO_ENVIRONMENTS:
        return (f"seed-demo runs only with TRACKER_ENV=development or testing, not {env}: the demo's sign-ins "
                "and passwords are public. Nothing seeded.")
    if holds_demo():
        return None
    users = db.session.scalar(select(func.count(User.id)))
    mothers = db.session.scalar(select(func.count(Beneficiary.id)))
    if users or mothers:
        people = f"{users} user{'s' if users != 1 else ''}, {mothers} mother{'s' if mothers != 1 else ''}"
        return (f"the database holds people the demo did not load ({people}): demo "
                "data goes only into an empty database or one seed-demo loaded, whatever the flags. "
                "Nothing seeded.")
    return None


def seed_demo(*, seed: int = 1, scale: int = 1, progress=None) -> dict:
    """Write demo data (inside an app context) and commit; return what was created, in order.

    Raises :class:`DemoRefused` where :func:`refusal` says no.
    """
    if scale < 1:
        raise ValueError("scale must be 1 or more")
    refused = refusal()
    if refused:
        raise DemoRefused(refused)
    seeder = _Seeder(seed=int(seed), scale=int(scale), progress=progress or (lambda message: None))
    try:
        with audit.suspended():
            summary = seeder.run()
        changes = {"seed": [None, seed], "scale": [None, scale]}
        changes.update({what: [None, n] for what, n in summary.items()})
        audit.record(db.session, DEMO_MARK, changes=changes)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    refresh_planner_statistics(db.session)
    return summary


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def _month_end(day: dt.date) -> dt.date:
    return add_months(day, 1) - DAY


def _months(first: dt.date, last: dt.date):
    """First days of the months from ``first``'s to ``last``'s, both included."""
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = add_months(month, 1)


def _between(rng: random.Random, low: dt.date, high: dt.date) -> dt.date:
    return low + dt.timedelta(days=rng.randint(0, max((high - low).days, 0)))


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded half-even to a multiple of ``step`` (at least one step)."""
    units = (value / step).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(units, Decimal(1)) * step


def _round_hundreds(value: Decimal) -> Decimal:
    return (value / 100).to_integral_value(rounding=ROUND_HALF_EVEN) * 100


def _nice(value: Decimal, currency: str) -> Decimal:
    """A round amount near ``value`` (three significant digits), as people pledge."""
    if value <= 0:
        return Decimal(0)
    digits = value.adjusted() + 1
    step = Decimal(10) ** max(digits - 3, 0)
    return _to_step(value, step).quantize(Decimal(1).scaleb(-exponent(currency)))


def _percent(rng: random.Random, bounds) -> Decimal:
    return Decimal(rng.randint(*bounds)) / 100


def _numbered(base: str):
    """References ``base``, ``base2``, ``base3``... (for ``free``)."""
    return lambda n: base if n == 1 else f"{base}{n}"


def _received_share(plan, to: dt.date) -> Decimal:
    """The share of a planned pledge received by ``to``, by its pattern and dates."""
    if plan.pattern == "none" or plan.first_on > to:
        return Decimal(0)
    if plan.pattern == "full" or (plan.pattern == "full2" and plan.second_on <= to):
        return Decimal(1)
    return plan.first_share


class _Queue:
    """Hands out every value once first (in a seeded order), then weighted picks."""

    def __init__(self, rng: random.Random, weights: dict):
        self.weights = weights
        self.pending = list(weights)
        rng.shuffle(self.pending)

    def take(self, rng: random.Random, allowed=None):
        for value in self.pending:
            if allowed is None or value in allowed:
                self.pending.remove(value)
                return value
        choices = {k: w for k, w in self.weights.items() if allowed is None or k in allowed}
        return _weighted(rng, choices)


class _AcademicYear:
    def __init__(self, start_year: int, start_month: int, current: bool):
        self.start = dt.date(start_year, start_month, 1)
        self.end = add_months(self.start, 12) - DAY
        self.label = f"{start_year}-{start_year + 1}"
        # Three terms: September, January, April for a September start.
        self.terms = [add_months(self.start, offset) for offset in (0, 4, 7)]
        self.current = current

    def term_end(self, term: int) -> dt.date:
        return self.terms[term] - DAY if term < 3 else self.end


# ---------------------------------------------------------------------------
# The seeder
# ---------------------------------------------------------------------------

class _Seeder:
    def __init__(self, *, seed: int, scale: int, progress):
        self.seed = seed
        self.scale = scale
        self.progress = progress
        self.session = db.session
        self.keyring = keyring()
        self.today = _today()
        self.last = self.today - DAY                      # nothing is dated after yesterday
        self.end_of_last = dt.datetime.combine(self.last, dt.time(23, 59, 59), UTC)
        self.y2 = self.today.year
        self.y1 = self.y2 - 1
        self.start = dt.date(self.y1, 1, 1)
        self.last_complete_month = add_months(self.today.replace(day=1), -1)
        start_month = int(current_app.config.get("ACADEMIC_YEAR_START_MONTH", 9) or 9)
        current_start = self.today.year if self.today.month >= start_month else self.today.year - 1
        # Every academic year that overlaps the two calendar years and has begun.
        self.academic_years = [
            _AcademicYear(year, start_month, year == current_start)
            for year in range(self.y1 - 1, current_start + 1)
            if add_months(dt.date(year, start_month, 1), 12) > self.start
        ]
        self.counts = {key: 0 for key in (
            "projects", "partners", "budget lines", "donors", "pledges", "contributions", "allocations",
            "exchange rates", "mothers", "children", "enrolments", "paternity claims", "claim steps",
            "income projects", "income reports", "disbursements", "users")}
        self.spend = defaultdict(lambda: defaultdict(Decimal))  # project key -> (month, category) -> USD
        self.paid = defaultdict(lambda: defaultdict(Decimal))   # project key -> month paid -> USD
        self.committed = defaultdict(Decimal)                   # project key -> USD approved, not paid (today)
        self.disbursement_numbers = {}
        self.used_names = set()
        queue_rng = self.rng("queues")
        self.exit_queue = _Queue(queue_rng, _EXIT_WEIGHTS)
        self.claim_queue = _Queue(queue_rng, _CLAIM_WEIGHTS)
        self.iga_queue = _Queue(queue_rng, _IGA_WEIGHTS)
        self.corrections_wanted = 3

    def rng(self, *parts) -> random.Random:
        return random.Random(":".join(["tracker-demo", str(self.seed), *map(str, parts)]))

    def at(self, rng: random.Random, day: dt.date, country: str | None = None) -> dt.datetime:
        """A moment during office hours on ``day`` (UTC), never after the end of yesterday."""
        low, high = COUNTRIES[country]["hours"] if country else (7, 16)
        moment = dt.datetime(day.year, day.month, day.day, rng.randint(low, high), rng.randint(0, 59),
                             rng.randint(0, 59), tzinfo=UTC)
        return min(moment, self.end_of_last)

    # -- orchestration ------------------------------------------------------

    def run(self) -> dict:
        self.progress(f"Seeding demo data (seed {self.seed}, scale {self.scale}) for "
                      f"{self.y1}-01-01 to {self.last.isoformat()}")
        self._exchange_rates()
        self._partners_and_projects()
        self._donors()
        self._users()
        self._people()
        self.progress("Budgets and allocations")
        self._budgets_and_allocations()
        self.progress("Pledges and contributions")
        self._pledges_and_contributions()
        self.session.flush()
        return dict(self.counts)

    def _insert(self, model, rows: list[dict], *, returning: bool = False) -> list[int]:
        """Insert ``rows`` (dicts with the same keys); with ``returning``, their new ids in order."""
        table = model.__table__
        ids: list[int] = []
        if not rows:
            return ids
        connection = self.session.connection()
        if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
            columns = list(rows[0])
            if not any(c.default is not None and c.name not in columns and c.name != "id" for c in table.columns):
                return self._copy(connection, table, columns, rows, returning)
        for first in range(0, len(rows), _BATCH):
            part = rows[first:first + _BATCH]
            if returning:
                result = self.session.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True), part)
                ids.extend(result.scalars().all())
            else:
                self.session.execute(insert(table), part)
        return ids

    def _copy(self, connection, table, columns: list[str], rows: list[dict], with_ids: bool) -> list[int]:
        """PostgreSQL: ``COPY`` the rows in (many times faster than INSERTs at a large scale).

        Values go through each column type's bind processor, so ``Money``, ``Encrypted`` and
        ``UTCDateTime`` apply as they do on INSERT. Ids, when needed, are drawn from the table's
        own sequence first, so later inserts carry on after them.
        """
        ids: list[int] = []
        if with_ids:
            ids = sorted(connection.execute(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                {"table": table.name, "n": len(rows)}).scalars())
        dialect = connection.dialect
        processors = [(name, table.c[name].type.bind_processor(dialect)) for name in columns]
        quote = dialect.identifier_preparer.quote
        names = (["id"] if with_ids else []) + columns
        statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for index, row in enumerate(rows):
                values = [row[name] if process is None or row[name] is None else process(row[name])
                          for name, process in processors]
                copy.write_row([ids[index], *values] if with_ids else values)
        return ids

    # -- exchange rates -----------------------------------------------------

    def _exchange_rates(self):
        rng = self.rng("rates")
        months = list(_months(self.start, self.today))
        existing = {(currency, valid_from) for currency, valid_from in self.session.execute(
            select(ExchangeRate.currency, ExchangeRate.valid_from))}
        rows = []
        for currency, (start, trend, noise, quantum) in _RATE_WALKS.items():
            step = start * noise // 1000
            deviation = 0
            for index, month in enumerate(months):
                # The trend, and around it a small walk pulled back towards it: over the few months between a
                # pledge and its payment, the trend mostly shows through the noise.
                deviation += rng.randint(-step, step) - deviation // 3
                deviation = min(max(deviation, -2 * step), 2 * step)
                value = start + start * trend * index // 1200 + deviation
                value = value // quantum * quantum
                if (currency, month) in existing:
                    continue
                rows.append({"currency": currency, "valid_from": month,
                             "usd_per_unit": Decimal(value).scaleb(-8),
                             "created_at": self.at(rng, max(month - 2 * DAY, self.start - 2 * DAY))})
        self._insert(ExchangeRate, rows)
        self.counts["exchange rates"] = len(rows)
        self.progress(f"Exchange rates: {len(rows)} ({len(_RATE_WALKS)} currencies, {len(months)} months)")
        # The lookup reads the table, so that rates already there are honoured.
        self.rates = {}
        for currency, valid_from, rate in self.session.execute(
                select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit)
                .order_by(ExchangeRate.currency, ExchangeRate.valid_from)):
            dates, values = self.rates.setdefault(currency, ([], []))
            dates.append(valid_from)
            values.append(rate)
        self.rate_cache = {}

    def rate(self, currency: str, day: dt.date) -> Decimal:
        """The rate in force on ``day``: the latest with ``valid_from`` on or before it."""
        if currency == "USD":
            return Decimal("1.00000000")
        key = (currency, day)
        found = self.rate_cache.get(key)
        if found is None:
            dates, values = self.rates[currency]
            index = bisect.bisect_right(dates, day) - 1
            if index < 0:
                raise LookupError(f"no {currency} rate on {day}")
            found = self.rate_cache[key] = values[index]
        return found

    def local(self, usd_cents: int, currency: str, day: dt.date, step: Decimal) -> Decimal:
        """An amount in ``currency`` worth about ``usd_cents`` on ``day``, rounded to ``step``."""
        return _to_step(Decimal(usd_cents) / 100 / self.rate(currency, day), step)

    # -- partners, projects, donors, users ------------------------------------

    def _partners_and_projects(self):
        rng = self.rng("projects")
        partners = {}
        for name, kind in _PARTNERS.items():
            partner = self.session.scalars(select(Partner).where(Partner.name == name)).one_or_none()
            if partner is None:
                partner = Partner(name=name, kind=kind)
                self.session.add(partner)
                self.counts["partners"] += 1
            partners[name] = partner
        self.session.flush()
        taken = set(self.session.scalars(select(Project.code)))
        self.projects = []
        for (key, country, partner, title, (sy, sm), (ey, em), status, share, profile,
             places) in _PROJECTS:
            start = dt.date(self.y1 + sy, sm, 1)
            end = _month_end(dt.date(self.y1 + ey, em, 1))
            number = 1
            while f"TF-{country}-{start.year}-{number:02d}" in taken:
                number += 1
            code = f"TF-{country}-{start.year}-{number:02d}"
            taken.add(code)
            project = Project(
                code=code, title=title, country=country, partner=partners[partner], start_date=start,
                end_date=end, status=status, created_at=self.at(rng, min(start, self.last), country),
                description=(f"Implemented by {partner}. Assistance to survivors of sexual exploitation and abuse "
                             f"and to their children in {', '.join(p.split(' (')[0] for p in places[:3])}: "
                             "school fees and materials, income-generating activities, medical, psychosocial "
                             "and legal support, paid to schools and providers on the beneficiaries' behalf."),
            )
            self.session.add(project)
            self.projects.append(SimpleNamespace(
                key=key, model=project, code=code, country=country, start=start, end=end, status=status,
                share=share, profile=profile, places=places, currency=COUNTRIES[country]["currency"]))
        self.session.flush()
        for p in self.projects:
            p.id = p.model.id
        self.counts["projects"] = len(self.projects)
        self.progress(f"Projects: {len(self.projects)}")

    def _donors(self):
        self.donors = {}
        for name, kind, country, currency, abbreviation, weight in _DONORS:
            donor = self.session.scalars(select(Donor).where(Donor.name == name)).one_or_none()
            if donor is None:
                donor = Donor(name=name, kind=kind, country=country,
                              created_at=dt.datetime.combine(self.start, dt.time(9), UTC))
                self.session.add(donor)
                self.counts["donors"] += 1
            self.donors[name] = donor
        self.session.flush()

    def _users(self):
        from tracker.auth.services import create_user

        wanted = [(u["role"], u["email"], _DEMO_NAMES.get(u["email"]), u["countries"], u.get("donor"), u["password"])
                  for u in DEMO_USERS]
        passwords = {u["role"]: u["password"] for u in DEMO_USERS}
        wanted += [(role, email, name, countries, None, passwords[role]) for role, email, name, countries in _MORE_USERS]
        by_email = {}
        for role, email, name, countries, donor, password in wanted:
            user = self.session.scalars(select(User).where(User.email == email)).one_or_none()
            if user is None:
                user = create_user(email=email, role=role, password=password, countries=countries,
                                   donor_name=donor, name=name)
                self.counts["users"] += 1
            by_email[email] = user
        self.staff = defaultdict(list)
        self.managers = defaultdict(list)
        for _role, email, _name, _countries, _donor, _password in wanted:
            user = by_email[email]
            if user.role not in ("staff", "manager") or not user.active:
                continue
            for country in user.countries:
                (self.staff if user.role == "staff" else self.managers)[country].append(user.id)
        for country in COUNTRIES:
            if not self.staff[country] or len(self.managers[country]) < 2:
                raise RuntimeError(f"demo users for {country} are missing or inactive")
        self.allocator_id = by_email["manager@example.org"].id
        self.progress(f"Users: {self.counts['users']} created")

    # -- people and payments --------------------------------------------------

    def _people(self):
        active = [p for p in self.projects if p.status != "pipeline"]
        total = _MOTHERS_PER_SCALE * self.scale
        weights = sum(p.share for p in active)
        exact = [total * p.share / weights for p in active]
        counts = [int(x) for x in exact]
        by_remainder = sorted(range(len(active)), key=lambda i: (counts[i] - exact[i], i))
        for i in by_remainder[: total - sum(counts)]:
            counts[i] += 1
        next_number = {}
        for country in COUNTRIES:
            counter = self.session.scalar(select(CodeSequence.last_value).where(
                CodeSequence.country == country, CodeSequence.kind == "M")) or 0
            highest = self.session.scalar(select(func.max(Beneficiary.number)).where(
                Beneficiary.country == country)) or 0
            next_number[country] = max(counter, highest) + 1
        first_number = dict(next_number)
        # Enrolment dates first, so that codes are handed out per country in the order women were enrolled.
        arrivals = defaultdict(list)
        for index, (p, count) in enumerate(zip(active, counts)):
            p.enrol_from = max(p.start, self.start)
            p.enrol_to = min(p.end - dt.timedelta(days=150), self.last - dt.timedelta(days=10))
            p.plan = []
            drng = self.rng("arrivals", p.key)
            span = (p.enrol_to - p.enrol_from).days
            for k in range(count):   # more women early on: the caseload carried into the period
                enrolled = p.enrol_from + dt.timedelta(days=int(span * drng.random() ** 1.5))
                arrivals[p.country].append((enrolled, index, k, p))
        for country, items in arrivals.items():
            items.sort(key=lambda item: item[:3])
            for enrolled, _index, _k, p in items:
                p.plan.append((next_number[country], enrolled))
                next_number[country] += 1
        for p, count in zip(active, counts):
            brng = self.rng("batches", p.key)
            p.batch_dates = {(ay.label, term): ay.terms[term - 1] + dt.timedelta(days=brng.randint(5, 25))
                             for ay in self.academic_years for term in (1, 2, 3)}
            p.payment_seq = 0
            for chunk, first in enumerate(range(0, count, _CHUNK)):
                self._chunk(p, chunk, p.plan[first:first + _CHUNK])
            p.plan = None
            self.progress(f"{p.code}: {count} mothers (total so far: {self.counts['mothers']} mothers, "
                          f"{self.counts['disbursements']} disbursements)")
        for country in COUNTRIES:
            highest = next_number[country] - 1
            if highest < first_number[country]:
                continue
            # Later registrations take their numbers from here, after the demo's.
            exists = self.session.scalar(select(CodeSequence.last_value).where(
                CodeSequence.country == country, CodeSequence.kind == "M"))
            if exists is None:
                self.session.execute(insert(CodeSequence).values(country=country, kind="M", last_value=highest))
            else:   # ``highest`` is above it: numbering started after max(counter, numbers in use)
                self.session.execute(update(CodeSequence).where(
                    CodeSequence.country == country, CodeSequence.kind == "M").values(last_value=highest))

    def _full_name(self, rng: random.Random, country: str) -> str:
        data = COUNTRIES[country]
        used = self.used_names   # normalised, as the name hash sees them, across countries
        name = None
        for attempt in range(60):
            given = rng.choice(data["women"])
            surname = rng.choice(data["surnames"])
            if attempt < 2:
                name = f"{given} {surname}"
            else:   # a middle name (post-nom, father's name, second given name) keeps names apart
                middle = rng.choice(data["surnames"] if country in ("CD", "SS", "LR") else data["women"])
                if middle in (given, surname):
                    continue
                name = f"{given} {middle} {surname}"
            if normalise_name(name) not in used:
                break
        used.add(normalise_name(name))
        return name

    def _chunk(self, p, chunk: int, plan: list):
        rng = self.rng("people", p.key, chunk)
        country, data = p.country, COUNTRIES[p.country]
        name_hash = self.keyring.name_hash
        mothers, rows = [], []
        for number, enrolled in plan:
            status, reason, exited = "active", None, None
            if p.status == "closed":
                exited = _between(rng, enrolled + dt.timedelta(days=60), p.end)
                reason = _weighted(rng, _CLOSED_EXIT_WEIGHTS)
            elif rng.random() < 0.12 and enrolled + dt.timedelta(days=45) <= self.last:
                exited = _between(rng, enrolled + dt.timedelta(days=45), self.last)
                reason = self.exit_queue.take(rng)
            if exited:
                status = "exited"
            end = min(exited or (p.end if p.status == "closed" else self.last), self.last)
            full_name = self._full_name(rng, country)
            services_on = enrolled if rng.random() < 0.98 else None
            services_withdrawn = (_between(rng, enrolled + dt.timedelta(days=30), end)
                                  if services_on and rng.random() < 0.01 and enrolled + dt.timedelta(days=30) <= end
                                  else None)
            reporting_on = enrolled + dt.timedelta(days=rng.choice((0, 0, 0, 7, 14))) if rng.random() < 0.85 else None
            if reporting_on and reporting_on > self.last:
                reporting_on = enrolled
            reporting_withdrawn = (_between(rng, reporting_on + dt.timedelta(days=30), end)
                                   if reporting_on and rng.random() < 0.03
                                   and reporting_on + dt.timedelta(days=30) <= end else None)
            yob = rng.randint(1985, 2006)
            m = SimpleNamespace(number=number, country=country, code=mother_code(country, number), enrolled=enrolled,
                                end=end, exited=exited, yob=yob, children=[], igas=[], place=rng.choice(p.places))
            n_children = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
            first_names = set()
            for child_number, child_yob in enumerate(
                    sorted(rng.randint(max(2008, yob + 13), 2021) for _ in range(n_children)), start=1):
                sex = rng.choice("FM")
                first = rng.choice(data["women"] if sex == "F" else data["boys"])
                for _ in range(5):
                    if first not in first_names:
                        break
                    first = rng.choice(data["women"] if sex == "F" else data["boys"])
                first_names.add(first)
                m.children.append(SimpleNamespace(number=child_number, code=child_code(m, child_number),
                                                  yob=child_yob, sex=sex, first_name=first, enrolments=[],
                                                  claim=None))
            mothers.append(m)
            rows.append({
                "code": m.code, "country": country, "number": number, "project_id": p.id,
                "full_name": full_name, "name_hash": name_hash(full_name),
                "phone": data["phone"](rng) if rng.random() < 0.88 else None,
                "village": m.place, "year_of_birth": yob, "enrolled_on": enrolled, "status": status,
                "exit_reason": reason, "exited_on": exited,
                "consent_services_on": services_on, "consent_services_withdrawn_on": services_withdrawn,
                "consent_reporting_on": reporting_on, "consent_reporting_withdrawn_on": reporting_withdrawn,
                "children_seq": len(m.children), "created_at": self.at(rng, enrolled, country),
            })
        for m, mother_id in zip(mothers, self._insert(Beneficiary, rows, returning=True)):
            m.id = mother_id
        self.counts["mothers"] += len(rows)

        # Children
        rows = [{"code": c.code, "mother_id": m.id, "number": c.number, "first_name": c.first_name,
                 "year_of_birth": c.yob, "sex": c.sex, "created_at": self.at(rng, m.enrolled, country)}
                for m in mothers for c in m.children]
        children = [c for m in mothers for c in m.children]
        for c, child_id in zip(children, self._insert(Child, rows, returning=True)):
            c.id = child_id
        self.counts["children"] += len(rows)

        self._enrolments(rng, p, mothers)
        self._claims(rng, p, mothers)
        self._income_projects(rng, p, mothers)
        self._disbursements(rng, p, mothers)

    def _enrolments(self, rng, p, mothers):
        data = COUNTRIES[p.country]
        grades, n_primary = data["grades"], data["n_primary"]
        rows, targets = [], []
        for m in mothers:
            for c in m.children:
                schooled = rng.random() < 0.93
                held_back = 1 if rng.random() < 0.25 else 0
                in_usd = rng.random() < data["usd_fee_share"]
                schools = {"primary": rng.choice(data["primary"]), "secondary": rng.choice(data["secondary"])}
                level_before, fee = None, None
                for ay in self.academic_years:
                    if not (m.enrolled <= ay.end and m.end >= ay.start):
                        continue
                    index = ay.start.year - c.yob - 6 - held_back
                    if not schooled or index < 0 or index >= len(grades) or rng.random() < 0.03:
                        continue
                    level = "primary" if index < n_primary else "secondary"
                    currency = "USD" if in_usd else data["currency"]
                    if in_usd:
                        low, high = data["usd_fee_" + level]
                        step = 5
                    else:
                        low, high = data["fee_" + level]
                        step = data["fee_step"]
                    if level != level_before or fee is None:
                        fee = Decimal(rng.randrange(low // step, high // step + 1) * step)
                    else:   # the same school raises its fee a little each year
                        fee = _to_step(fee * (100 + rng.randint(0, 10)) / 100, Decimal(step))
                    level_before = level
                    e = SimpleNamespace(ay=ay, school=schools[level], fee=fee, currency=currency, terms=3)
                    created = min(max(m.enrolled, ay.start - dt.timedelta(days=20)), self.last)
                    rows.append({"child_id": c.id, "school": e.school, "academic_year": ay.label,
                                 "grade": grades[index], "fee_per_term": fee, "currency": currency, "terms": 3,
                                 "created_at": self.at(rng, created, p.country)})
                    targets.append(e)
                    c.enrolments.append(e)
        for e, enrolment_id in zip(targets, self._insert(Enrolment, rows, returning=True)):
            e.id = enrolment_id
        self.counts["enrolments"] += len(rows)

    def _claim_path(self, rng, final: str) -> tuple:
        if final in _CLAIM_BASE:
            return _CLAIM_BASE[:_CLAIM_BASE.index(final) + 1]
        if final == "withdrawn":
            return _CLAIM_BASE[:rng.randint(1, 4)] + ("withdrawn",)
        if final == "not_established":
            return _CLAIM_BASE + ("not_established",)
        return _CLAIM_BASE + _CLAIM_AFTER[:_CLAIM_AFTER.index(final) + 1]

    def _claims(self, rng, p, mothers):
        data = COUNTRIES[p.country]
        claims, rows = [], []
        for m in mothers:
            for c in m.children:
                if rng.random() >= 0.25:
                    continue
                final = self.claim_queue.take(rng)
                path = self._claim_path(rng, final)
                gaps = [rng.randint(*_CLAIM_GAPS[step]) for step in path[1:]]
                total = sum(gaps)
                waited = rng.randint(0, 420) if final in _CLAIM_FINAL else rng.randint(0, 120)
                received = self.last - dt.timedelta(days=waited + total)
                earliest = dt.date(c.yob + 1, 1, 1)
                if received < earliest:
                    received = earliest
                    room = (self.last - earliest).days
                    if total > room:  # a young child: the same path, faster
                        gaps = [g * room // total for g in gaps]
                dates = [received]
                for gap in gaps:
                    dates.append(dates[-1] + dt.timedelta(days=gap))
                weights = (65, 20, 15)
                category = rng.choices(("military", "police", "civilian"), weights=weights)[0]
                steps = []
                for step, day in zip(path, dates):
                    steps.append({"step": step, "occurred_on": day,
                                  "recorded_at": self.at(rng, min(day + dt.timedelta(days=rng.randint(0, 6)),
                                                                  self.last), p.country),
                                  "recorded_by_id": rng.choice(self.staff[p.country]),
                                  "superseded_at": None, "superseded_by_id": None, "correction_reason": None})
                correction = None
                if len(steps) >= 3 and (self.corrections_wanted > 0 or rng.random() < 0.02):
                    j = rng.randint(1, len(steps) - 1)
                    low = dates[j - 1]
                    high = dates[j + 1] if j + 1 < len(dates) else self.last
                    wrong = dates[j] + dt.timedelta(days=rng.choice((-1, 1)) * rng.randint(1, 20))
                    wrong = min(max(wrong, low), high)
                    if wrong != dates[j]:
                        self.corrections_wanted -= 1
                        right = steps[j]
                        old = dict(right, occurred_on=wrong,
                                   recorded_at=self.at(rng, min(wrong + dt.timedelta(days=rng.randint(0, 3)),
                                                                self.last), p.country))
                        fixed_at = min(max(old["recorded_at"], right["recorded_at"])
                                       + dt.timedelta(days=rng.randint(1, 20)), self.end_of_last)
                        right["recorded_at"] = fixed_at
                        old["superseded_at"] = fixed_at
                        old["correction_reason"] = rng.choice(_CORRECTION_REASONS)
                        steps.insert(j, old)
                        correction = j
                c.claim = SimpleNamespace(received=received, steps=steps, correction=correction)
                claims.append(c.claim)
                rows.append({"child_id": c.id, "member_state": rng.choice(data["member_states"]),
                             "personnel_category": category, "status": path[-1], "status_on": dates[-1],
                             "created_at": steps[0]["recorded_at"]})
        for claim, claim_id in zip(claims, self._insert(PaternityClaim, rows, returning=True)):
            claim.id = claim_id
        self.counts["paternity claims"] += len(rows)
        step_rows = []
        for claim in claims:
            for step in claim.steps:
                step["claim_id"] = claim.id
                step_rows.append(step)
        step_ids = self._insert(ClaimStep, step_rows, returning=True)
        self.counts["claim steps"] += len(step_rows)
        fixes, position = [], 0
        for claim in claims:
            if claim.correction is not None:
                old = position + claim.correction
                fixes.append({"old_id": step_ids[old], "new_id": step_ids[old + 1],
                              "fixed_at": claim.steps[claim.correction]["superseded_at"],
                              "why": claim.steps[claim.correction]["correction_reason"]})
            position += len(claim.steps)
        if fixes:
            table = ClaimStep.__table__
            self.session.execute(
                update(table).where(table.c.id == bindparam("old_id"))
                .values(superseded_by_id=bindparam("new_id"),
                        superseded_at=bindparam("fixed_at", type_=table.c.superseded_at.type),
                        correction_reason=bindparam("why")),
                fixes)

    def _income_projects(self, rng, p, mothers):
        data = COUNTRIES[p.country]
        currency = data["currency"]
        projects, rows, reports = [], [], []
        for m in mothers:
            if rng.random() >= 0.4:
                continue
            earliest = m.enrolled + dt.timedelta(days=20)
            allowed = set()
            if m.exited is None and p.status != "closed":
                allowed.add("planned")
                if earliest <= self.last - dt.timedelta(days=60):
                    allowed.update(("active", "struggling"))
            if earliest + dt.timedelta(days=180) <= m.end:
                allowed.update(("closed_successful", "closed_failed"))
            if not allowed:
                continue
            status = self.iga_queue.take(rng, allowed)
            closed = None
            if status == "planned":
                started = _between(rng, max(earliest, self.last - dt.timedelta(days=45)), self.last) \
                    if earliest <= self.last else self.last
            elif status in ("active", "struggling"):
                started = _between(rng, earliest, min(earliest + dt.timedelta(days=130),
                                                      self.last - dt.timedelta(days=60)))
            else:
                started = _between(rng, earliest, min(earliest + dt.timedelta(days=130),
                                                      m.end - dt.timedelta(days=180)))
                closed = _between(rng, started + dt.timedelta(days=180),
                                  min(started + dt.timedelta(days=420), m.end))
            grant = self.local(rng.randint(15000, 45000), currency, started, data["grant_step"])
            k = len(m.igas) + 1
            iga = SimpleNamespace(reference=f"IGA-{p.country}-{m.number:05d}-{k}", status=status, started=started,
                                  closed=closed, grant=grant, currency=currency)
            m.igas.append(iga)
            projects.append(iga)
            rows.append({"reference": iga.reference, "beneficiary_id": m.id, "activity": rng.choice(_ACTIVITIES),
                         "started_on": started, "planned_grant": grant, "currency": currency, "status": status,
                         "closed_on": closed, "created_at": self.at(rng, min(started - dt.timedelta(days=10),
                                                                              self.last), p.country)})
        for iga, iga_id in zip(projects, self._insert(IncomeProject, rows, returning=True)):
            iga.id = iga_id
        self.counts["income projects"] += len(rows)
        # Monthly reports, from the month after the start to the last complete month (or the closing month).
        base = {"active": (4000, 15000), "struggling": (1500, 6000), "closed_successful": (5000, 18000),
                "closed_failed": (1000, 5000)}
        loss_odds = {"active": 0.08, "struggling": 0.4, "closed_successful": 0.05, "closed_failed": 0.5}
        for iga in projects:
            if iga.status == "planned":
                continue
            last_month = min(self.last_complete_month, (iga.closed or self.last).replace(day=1))
            level = rng.randint(*base[iga.status])
            for month in _months(add_months(iga.started.replace(day=1), 1), last_month):
                if month < last_month and rng.random() < 0.06:
                    continue   # not reported that month
                level = max(500, level + rng.randint(-level // 5, level // 5))
                revenue = self.local(level, iga.currency, month, data["step"])
                if rng.random() < loss_odds[iga.status]:
                    costs = _to_step(revenue * rng.randint(105, 150) / 100, data["step"])
                    if rng.random() < 0.15:
                        revenue = Decimal(0)
                else:
                    costs = _to_step(revenue * rng.randint(40, 90) / 100, data["step"])
                reports.append({"income_project_id": iga.id, "month": month, "revenue": revenue, "costs": costs,
                                "currency": iga.currency,
                                "note": rng.choice(_INCOME_NOTES) if rng.random() < 0.1 else None,
                                "created_at": self.at(rng, min(add_months(month, 1) + dt.timedelta(
                                    days=rng.randint(0, 12)), self.last), p.country)})
        self._insert(IncomeReport, reports)
        self.counts["income reports"] += len(reports)

    # -- disbursements ------------------------------------------------------

    def _reference(self, country: str, year: int) -> str:
        key = (country, year)
        if key not in self.disbursement_numbers:
            prefix = f"DB-{country}-{year}-"
            highest = self.session.scalar(select(func.max(Disbursement.reference)).where(
                Disbursement.reference.like(prefix + "%")))
            tail = highest[len(prefix):] if highest else ""
            self.disbursement_numbers[key] = int(tail) if tail.isdigit() else 0
        self.disbursement_numbers[key] += 1
        return f"DB-{country}-{year}-{self.disbursement_numbers[key]:06d}"

    def _payment(self, rng, p, m, rows, *, category, payee, amount, currency, entered_on, states,
                 child=None, enrolment=None, term=None, iga=None, batch_key=None, follow_up=True):
        """Add one disbursement (and, after a rejection or a void, often its corrected re-entry)."""
        country = p.country
        target = _weighted(rng, states)
        if rng.random() < 0.05:   # now and then a manager enters, and the other manager approves
            entered_by, approver = rng.sample(self.managers[country], 2)
        else:
            entered_by = rng.choice(self.staff[country])
            approver = rng.choice(self.managers[country])
        minutes = dt.timedelta(minutes=1)
        row = dict.fromkeys(_DISBURSEMENT_KEYS)
        row.update(project_id=p.id, category=category,
                   beneficiary_id=m.id, child_id=child.id if child else None,
                   enrolment_id=enrolment.id if enrolment else None, term=term,
                   income_project_id=iga.id if iga else None, payee=payee, amount=amount, currency=currency,
                   entered_on=entered_on, status="draft", top_up=False, imported_history=False,
                   batch_key=batch_key, entered_by_id=entered_by, entered_at=self.at(rng, entered_on, country),
                   version_id=1)
        state, ended_on = "draft", None
        if target != "draft":
            submitted_at = row["entered_at"] + rng.randint(5, 26 * 60) * minutes
            if submitted_at <= self.end_of_last:
                state = "submitted"
                row.update(submitted_by_id=entered_by, submitted_at=submitted_at)
        if state == "submitted" and target == "rejected":
            rejected_at = row["submitted_at"] + rng.randint(240, 6 * 24 * 60) * minutes
            if rejected_at <= self.end_of_last:
                state = "rejected"
                ended_on = rejected_at.date()
                row.update(rejected_by_id=approver, rejected_at=rejected_at,
                           rejection_reason=rng.choice(_REJECTIONS))
        elif state == "submitted" and target in ("approved", "paid", "voided"):
            approved_at = row["submitted_at"] + rng.randint(120, 9 * 24 * 60) * minutes
            if approved_at <= self.end_of_last:
                state = "approved"
                usd_rate = self.rate(currency, entered_on)
                row.update(approved_by_id=approver, approved_at=approved_at, usd_rate=usd_rate,
                           usd_amount=to_usd(amount, currency, usd_rate))
                last_moment = approved_at
                if target == "paid" or (target == "voided" and rng.random() < 0.6):
                    paid_at = approved_at + rng.randint(30, 14 * 24 * 60) * minutes
                    if paid_at <= self.end_of_last:
                        state = "paid"
                        last_moment = paid_at
                        # The payment reference is numbered when the chunk is written (see _write_payments).
                        prefix = "MM" if category != "school_fees" and rng.random() < 0.2 else \
                            COUNTRIES[country]["pay_prefix"]
                        row.update(paid_by_id=rng.choice(self.managers[country]), paid_at=paid_at,
                                   paid_on=paid_at.date(), payment_reference=prefix)
                if target == "voided":
                    voided_at = last_moment + rng.randint(60, 30 * 24 * 60) * minutes
                    if voided_at <= self.end_of_last:
                        state = "voided"
                        ended_on = voided_at.date()
                        row.update(voided_by_id=rng.choice(self.managers[country]), voided_at=voided_at,
                                   void_reason=rng.choice(_VOIDS))
        row["status"] = state
        rows.append(row)
        if state == "paid":
            self.spend[p.key][(row["paid_on"].replace(day=1), category)] += row["usd_amount"]
            self.paid[p.key][row["paid_on"].replace(day=1)] += row["usd_amount"]
        elif state == "approved":
            self.spend[p.key][(entered_on.replace(day=1), category)] += row["usd_amount"]
            self.committed[p.key] += row["usd_amount"]
        if ended_on and follow_up and rng.random() < 0.7:
            again = ended_on + dt.timedelta(days=rng.randint(1, 7))
            if again <= m.end:
                self._payment(rng, p, m, rows, category=category, payee=payee, amount=amount, currency=currency,
                              entered_on=again, states=_FOLLOW_UP_STATES, child=child, enrolment=enrolment,
                              term=term, iga=iga, follow_up=False)

    def _disbursements(self, rng, p, mothers):
        data = COUNTRIES[p.country]
        local = data["currency"]
        rows = []

        def currency_for():
            return "USD" if rng.random() < data["usd_share"] else local

        def amount(usd_low, usd_high, currency, day):
            step = Decimal(1) if currency == "USD" else data["step"]
            return self.local(rng.randint(usd_low, usd_high), currency, day, step)

        def pay(category, payee, usd_range, day, **kwargs):
            currency = kwargs.pop("currency", None) or currency_for()
            self._payment(rng, p, m, rows, category=category, payee=payee,
                          amount=amount(*usd_range, currency, day), currency=currency, entered_on=day,
                          states=_PAST_STATES, **kwargs)

        for m in mothers:
            # School fees, per enrolment and term; and school material at the start of the year.
            for c in m.children:
                for e in c.enrolments:
                    ay = e.ay
                    for term in (1, 2, 3):
                        batch_day = p.batch_dates[(ay.label, term)]
                        if batch_day >= m.enrolled and rng.random() < 0.8:
                            day, key = batch_day, f"{p.code}-{ay.start.year}-T{term}"
                        else:
                            day, key = max(batch_day, m.enrolled) + dt.timedelta(days=rng.randint(2, 30)), None
                        if day > ay.term_end(term) or day < self.start:
                            continue
                        states = _PAST_STATES
                        if day > self.last:   # not due yet: some schools are paid ahead, most are not
                            if not ay.current or m.exited is not None or rng.random() >= 0.3:
                                continue
                            day = _between(rng, max(m.enrolled, ay.start - dt.timedelta(days=14), self.start),
                                           self.last)
                            key, states = None, _AHEAD_STATES
                        elif day > m.end:
                            continue
                        self._payment(rng, p, m, rows, category="school_fees", payee=e.school, amount=e.fee,
                                      currency=e.currency, entered_on=day, states=states, child=c, enrolment=e,
                                      term=term, batch_key=key)
                    kit_day = ay.start + dt.timedelta(days=rng.randint(0, 25))
                    if rng.random() < 0.7 and max(m.enrolled, self.start) <= kit_day <= m.end:
                        pay("material", rng.choice(data["suppliers"]), (1000, 3500), kit_day, child=c)
                if c.claim is not None:
                    low = max(c.claim.received, m.enrolled)
                    for _ in range(rng.randint(1, 3)):
                        if low <= m.end:
                            pay("legal", rng.choice(data["lawyers"]), (4000, 25000), _between(rng, low, m.end),
                                child=c)
            # A dignity kit on arrival.
            if rng.random() < 0.85:
                day = m.enrolled + dt.timedelta(days=rng.randint(0, 20))
                if day <= m.end:
                    pay("material", rng.choice(data["suppliers"]), (1500, 4000), day)
            # Medical care, for her or a child: three or four a year.
            for month in _months(m.enrolled, m.end):
                if rng.random() < 0.3:
                    day = _between(rng, max(month, m.enrolled), min(_month_end(month), m.end))
                    child = rng.choice(m.children) if rng.random() < 0.4 else None
                    usd = (15000, 30000) if rng.random() < 0.05 else (1500, 12000)
                    pay("medical", rng.choice(data["clinics"]), usd, day, child=child)
            # Counselling: monthly sessions for a while.
            if rng.random() < 0.75:
                day = m.enrolled + dt.timedelta(days=rng.randint(7, 45))
                provider = rng.choice(data["counsellors"])
                for _ in range(rng.randint(8, 16)):
                    if day > m.end:
                        break
                    pay("psychosocial", provider, (800, 2500), day)
                    day += dt.timedelta(days=rng.randint(26, 35))
            # Income projects: the grant, in one or two tranches, paid to a supplier.
            for iga in m.igas:
                supplier = rng.choice(data["suppliers"])
                if iga.status == "planned":
                    if rng.random() < 0.5:
                        self._payment(rng, p, m, rows, category="iga", payee=supplier, amount=iga.grant,
                                      currency=iga.currency, entered_on=max(m.enrolled, iga.started - 3 * DAY),
                                      states={"draft": 1, "submitted": 1}, iga=iga)
                    continue
                first_day = max(m.enrolled, iga.started - dt.timedelta(days=rng.randint(0, 10)))
                second_day = iga.started + dt.timedelta(days=rng.randint(60, 120))
                if rng.random() < 0.4 and second_day <= min(iga.closed or m.end, m.end):
                    first = _to_step(iga.grant * rng.randint(55, 70) / 100, data["step"])
                    if first < iga.grant:
                        self._payment(rng, p, m, rows, category="iga", payee=supplier, amount=first,
                                      currency=iga.currency, entered_on=first_day, states=_PAST_STATES, iga=iga)
                        self._payment(rng, p, m, rows, category="iga", payee=supplier, amount=iga.grant - first,
                                      currency=iga.currency, entered_on=second_day, states=_PAST_STATES, iga=iga)
                        continue
                self._payment(rng, p, m, rows, category="iga", payee=supplier, amount=iga.grant,
                              currency=iga.currency, entered_on=first_day, states=_PAST_STATES, iga=iga)
        self._write_payments(p, rows)

    def _write_payments(self, p, rows: list[dict]):
        """Number the chunk's payments in the order they were entered and paid, then insert them."""
        for row in sorted((r for r in rows if r["paid_at"] is not None), key=lambda r: r["paid_at"]):
            p.payment_seq += 1
            row["payment_reference"] = f"{row['payment_reference']}-{row['paid_at']:%y%m%d}-{p.payment_seq:05d}"
        rows.sort(key=lambda r: r["entered_at"])
        for row in rows:
            row["reference"] = self._reference(p.country, row["entered_on"].year)
        self._insert(Disbursement, rows)
        self.counts["disbursements"] += len(rows)

    # -- money of the Fund ----------------------------------------------------

    def _budgets_and_allocations(self):
        rng = self.rng("budgets")
        budget_rows, allocation_rows = [], []
        minimum = Decimal(500 * self.scale)
        for p in self.projects:
            spend = self.spend[p.key]
            if p.status == "pipeline":
                for year in (self.y1, self.y2):
                    if p.start.year <= year <= p.end.year:
                        direct = {cat: _round_hundreds(Decimal(usd * self.scale) * _percent(rng, (90, 110)))
                                  for cat, usd in _PIPELINE_NEED.items()}
                        budget_rows += self._budget_lines(rng, p, year, direct)
                continue
            need_factor = _percent(rng, _PROFILES[p.profile][0])
            allocation_factor = _percent(rng, _PROFILES[p.profile][1])
            active_from = max(p.start, self.start).replace(day=1)
            active_to = min(p.end, self.last)
            months = list(_months(active_from, active_to))
            by_year = defaultdict(Decimal)
            recent_by_category = defaultdict(Decimal)
            recent = {add_months(self.last_complete_month, -k) for k in range(6)}
            for (month, category), usd in spend.items():
                by_year[(month.year, category)] += usd
                if month in recent:
                    recent_by_category[category] += usd / 6
            recent_rate = sum(recent_by_category.values(), Decimal(0))
            # Need: what the year costs at the pace of spending, times the profile's factor.
            for year in (self.y1, self.y2):
                if not (p.start.year <= year <= p.end.year):
                    continue
                months_in_year = sum(1 for month in months if month.year == year)
                direct = {}
                for category in _DIRECT:
                    if year == self.y1:   # what last year cost
                        base = by_year[(year, category)]
                    else:   # this year: spent so far, and the last six months' pace for the rest
                        base = (by_year[(year, category)]
                                + recent_by_category[category] * (12 - months_in_year)) * _percent(rng, (100, 105))
                    direct[category] = max(_round_hundreds(base * need_factor), minimum)
                budget_rows += self._budget_lines(rng, p, year, direct)
            # Allocations: a tranche each half-year, sized on what the half-year costs.
            for year in (self.y1, self.y2):
                for half in (1, 2):
                    first = dt.date(year, 1 if half == 1 else 7, 1)
                    last = add_months(first, 6) - DAY
                    if last < p.start or first > p.end:
                        continue
                    on = max(first, p.start) + dt.timedelta(days=rng.randint(10, 25))
                    if on > self.last:
                        continue
                    if last <= self.last or p.end <= self.last:
                        cost = sum((usd for (month, _cat), usd in spend.items() if first <= month <= last),
                                   Decimal(0))
                    else:
                        cost = recent_rate * 6
                    amount = _round_hundreds(cost * allocation_factor)
                    if p.profile == "under" and first <= self.last <= last:
                        # The current tranche of an underfunded project falls short: its balance no longer
                        # covers every child's next term, so the review has children at risk to show.
                        amount = _round_hundreds(amount * Decimal("0.85"))
                    if amount <= 0:
                        continue
                    allocation_rows.append({"project_id": p.id, "amount_usd": amount, "allocated_on": on,
                                            "note": f"{year} tranche {half} for {p.code}",
                                            "created_by_id": self.allocator_id,
                                            "created_at": self.at(rng, on)})
        self._story_balances(allocation_rows)
        self.budget_rows, self.allocation_rows = budget_rows, allocation_rows
        self._insert(BudgetLine, budget_rows)
        self._insert(Allocation, allocation_rows)
        self.counts["budget lines"] = len(budget_rows)
        self.counts["allocations"] = len(allocation_rows)

    def _story_balances(self, allocation_rows: list[dict]):
        """Resize the latest tranche of the projects of ``_BALANCE_STORY``, for the end of last year and today.

        ``balance`` = allocations up to the day − payments paid up to it − what is approved today (DESIGN
        section 3), and ``burn`` = what was paid in the three whole months before the day's month, / 3: the
        tranche is changed by the difference between the balance and the percentage of the burn wanted. Last
        year's tranche first, as this year's balance carries it.
        """
        rng = self.rng("balances")
        for p in self.projects:
            if p.key not in _BALANCE_STORY:
                continue
            tranches = [row for row in allocation_rows if row["project_id"] == p.id]
            for year in (self.y1, self.y2):
                to = dt.date(year, 12, 31) if year < self.y2 else self.today
                wanted = _percent(rng, _BALANCE_STORY[p.key])
                latest = max((row for row in tranches if row["allocated_on"].year == year),
                             key=lambda row: row["allocated_on"], default=None)
                if latest is None:
                    continue
                month = to.replace(day=1)
                burn = sum((usd for paid_in, usd in self.paid[p.key].items()
                            if add_months(month, -3) <= paid_in < month), Decimal(0)) / 3
                balance = (sum((row["amount_usd"] for row in tranches if row["allocated_on"] <= to), Decimal(0))
                           - sum((usd for paid_in, usd in self.paid[p.key].items() if paid_in <= to), Decimal(0))
                           - self.committed[p.key])
                latest["amount_usd"] = max(latest["amount_usd"] + _round_hundreds(burn * wanted - balance),
                                           Decimal(100))

    def _year_figures(self, year: int, to: dt.date) -> tuple[Decimal, Decimal, Decimal]:
        """The Fund's ``need`` and ``gap`` for the period from 1 January of ``year`` to ``to``, and what was
        allocated up to ``to`` (DESIGN section 3, from the rows about to be written)."""
        need, allocated = defaultdict(Decimal), defaultdict(Decimal)
        for row in self.budget_rows:
            if row["year"] == year:
                need[row["project_id"]] += row["amount_usd"]
        for row in self.allocation_rows:
            if dt.date(year, 1, 1) <= row["allocated_on"] <= to:
                allocated[row["project_id"]] += row["amount_usd"]
        gap = sum((max(amount - allocated[project_id], Decimal(0)) for project_id, amount in need.items()),
                  Decimal(0))
        up_to = sum((row["amount_usd"] for row in self.allocation_rows if row["allocated_on"] <= to), Decimal(0))
        return sum(need.values(), Decimal(0)), gap, up_to

    def _budget_lines(self, rng, p, year, direct: dict) -> list[dict]:
        lines = dict(direct)
        lines["outreach"] = _round_hundreds(sum(direct.values()) * _percent(rng, (8, 12)))
        lines["admin"] = _round_hundreds((sum(direct.values()) + lines["outreach"]) * Decimal("0.07"))
        return [{"project_id": p.id, "year": year, "category": category, "amount_usd": amount}
                for category, amount in lines.items() if amount > 0]

    def _pledges_and_contributions(self):
        """Pledges and contributions that leave the Fund underfunded, each year, by a chosen share of its need.

        Each year's pledges are sized once their dates and patterns are drawn: as of the year's end (or
        today), the gap − what is received and not allocated − what is pledged and still owed is
        ``_UNCOVERED_SHARE`` of the year's need (DESIGN section 3, the fund's uncovered gap). The pledges' size
        is solved for, then an unpledged contribution tops up what was received to the exact figure. Payment
        patterns: ``full`` (one payment), ``full2`` (two), ``partial`` (one of 40-70 %, the rest still owed)
        and ``none`` (nothing received yet); half of last year's pledges still owed are completed this year.
        A payment is in the pledge's currency, which the exchange rates moved since the pledge, or now and
        then in dollars (``_PAID_IN_OTHER_CURRENCY``).
        """
        rng = self.rng("donors")
        projects = {p.key: p for p in self.projects}
        pledge_refs = set(self.session.scalars(select(Pledge.reference)))
        contribution_refs = set(self.session.scalars(select(Contribution.reference)))
        pledging = [d for d in _DONORS if d[1] not in ("private", "withheld_payments")]
        pledge_rows, contribution_rows = [], []
        ceiling = None   # USD per unit of weight and per USD of need: at most twice last year's

        def free(make, taken):
            """The first of ``make(1)``, ``make(2)``... not taken yet (``--force`` on earlier data)."""
            n = 1
            while make(n) in taken:
                n += 1
            taken.add(make(n))
            return make(n)

        def contribution(donor_name, currency, amount, on, reference, pledge_index=None) -> dict:
            rate = self.rate(currency, on)
            contribution_rows.append({"reference": free(reference, contribution_refs),
                                      "donor_id": self.donors[donor_name].id, "pledge_index": pledge_index,
                                      "amount": amount, "currency": currency, "received_on": on,
                                      "usd_amount": to_usd(amount, currency, rate), "usd_rate": rate,
                                      "created_at": self.at(rng, on)})
            return contribution_rows[-1]

        for offset, year in enumerate((self.y1, self.y2)):
            to = min(dt.date(year, 12, 31), self.today)
            need, gap, allocated = self._year_figures(year, to)
            in_year = sum((row["amount_usd"] for row in self.allocation_rows if row["allocated_on"].year == year),
                          Decimal(0))
            base = in_year / 70   # USD per unit of weight, for the gifts that come without a pledge
            # Without a pledge: payments withheld from personnel, and private gifts.
            for name, kind, _country, currency, abbreviation, weight in _DONORS:
                if kind not in ("private", "withheld_payments"):
                    continue
                for month in range(rng.randint(1, 3), 13, rng.randint(2, 4)):
                    on = dt.date(year, month, rng.randint(1, 28))
                    if on > self.last:
                        break
                    share = base * weight / 4 * _percent(rng, (50, 150))
                    contribution(name, currency, _to_step(share, Decimal(50)), on,
                                 lambda n, base=f"CT-{year}-{abbreviation}-U": f"{base}{n:02d}")
            plans = self._pledge_plans(rng, offset, year, pledging)
            # Their size, in USD per unit of weight: per unit, what is received and what is still owed as of
            # ``to``; then the unit that leaves the uncovered share of the need wanted.
            owed = sum((plan.weight * (1 - _received_share(plan, to)) for plan in plans), Decimal(0))
            paying = sum((plan.weight * _received_share(plan, to) for plan in plans), Decimal(0))
            uncovered = _percent(rng, _UNCOVERED_SHARE)
            cover = max(gap - need * uncovered, gap / 10)
            reserve = min(cover * _percent(rng, _UNALLOCATED_SHARE), allocated * Decimal("0.15"))
            received_before = self._received(contribution_rows, to)
            owed_before = self._outstanding(pledge_rows, contribution_rows, to)
            unit = (cover - reserve - owed_before) / owed if owed else base
            if received_before + paying * unit > allocated + reserve and owed + paying:
                # The pledges alone bring in more than needed: fewer of them, and no top-up.
                unit = (gap + allocated - received_before - owed_before - need * uncovered) / (owed + paying)
            # Early in the year, when few donors have pledged yet, they do not pledge for the whole year: what
            # is still uncovered then is larger.
            unit = max(unit, base / 5) if ceiling is None else min(max(unit, base / 5), ceiling * need)
            ceiling = unit * 2 / need if need else None
            for plan in plans:
                rate = self.rate(plan.currency, plan.pledged_on)
                amount = _nice(unit * plan.weight / rate, plan.currency)
                if amount <= 0:
                    continue
                earmark = _EARMARKS.get((plan.name, offset))
                reference = free(lambda n: f"PL-{year}-{plan.abbreviation}-{n:02d}", pledge_refs)
                pledge_rows.append({"reference": reference, "donor_id": self.donors[plan.name].id, "amount": amount,
                                    "currency": plan.currency, "pledged_on": plan.pledged_on,
                                    "project_id": projects[earmark[1]].id if earmark and earmark[0] == "project"
                                    else None,
                                    "country": earmark[1] if earmark and earmark[0] == "country" else None,
                                    "usd_amount": to_usd(amount, plan.currency, rate), "usd_rate": rate,
                                    "created_at": self.at(rng, plan.pledged_on)})
                index = len(pledge_rows) - 1
                first = _nice(amount * plan.first_share, plan.currency)
                instalments = {"full": [(amount, plan.first_on)], "partial": [(first, plan.first_on)],
                               "full2": [(first, plan.first_on), (None, plan.second_on)], "none": []}[plan.pattern]
                if plan.late and plan.pattern in ("partial", "none"):
                    instalments.append((None, plan.late_on))
                other = _PAID_IN_OTHER_CURRENCY.get((plan.name, offset), (plan.currency,))[0]
                received = Decimal(0)   # in the pledge's currency
                for letter, (amount_due, on) in zip("ABC", instalments):
                    if on > self.last:
                        break
                    if amount_due is None:   # the rest
                        amount_due = amount - received
                    reference = _numbered(f"CT{pledge_rows[index]['reference'][2:]}-{letter}")
                    if letter == "A" and other != plan.currency:
                        worth = amount_due * self.rate(plan.currency, on) / self.rate(other, on)
                        row = contribution(plan.name, other, _nice(worth, other), on, reference, index)
                    else:
                        row = contribution(plan.name, plan.currency, amount_due, on, reference, index)
                    received += self._in_pledge_currency(row, pledge_rows[index])
            # Top up what was received with an early contribution without a pledge, to the year's figure
            # exactly (or nearly: it is paid in kroner and rounded as people give). Never more than the
            # allocations and the reserve need, and at least what keeps a little money unallocated.
            received = self._received(contribution_rows, to)
            top_up = (allocated + gap - need * uncovered - received
                      - self._outstanding(pledge_rows, contribution_rows, to))
            top_up = min(max(top_up, allocated + in_year * Decimal("0.03") - received), allocated + reserve - received)
            if top_up > 0:
                name, _kind, _country, currency, abbreviation, _weight = _DONORS[0]
                on = _between(rng, min(dt.date(year, 1, 5), self.last), min(dt.date(year, 3, 31), self.last))
                contribution(name, currency, _nice(top_up / self.rate(currency, on), currency), on,
                             lambda n: f"CT-{year}-{abbreviation}-X{n:02d}")
        pledge_ids = self._insert(Pledge, pledge_rows, returning=True)
        for row in contribution_rows:
            index = row.pop("pledge_index")
            row["pledge_id"] = pledge_ids[index] if index is not None else None
        self._insert(Contribution, contribution_rows)
        self.counts["pledges"] = len(pledge_rows)
        self.counts["contributions"] = len(contribution_rows)

    def _pledge_plans(self, rng, offset: int, year: int, pledging: list) -> list:
        """The year's pledges, made by yesterday: who pays how, and when (every draw made, whatever the pattern).

        Two smaller donors have paid nothing yet and two have paid part; the earmarked pledges and those paid
        in another currency have their own pattern; the others pay in full, in one or two instalments, or in
        part.
        """
        forced = {name for name, at in [*_EARMARKS, *_PAID_IN_OTHER_CURRENCY] if at == offset}
        open_to = [i for i, d in enumerate(pledging) if d[0] not in forced]
        nothing = set(rng.sample([i for i in open_to if pledging[i][5] < 7], 2))   # the big donors pay
        part = set(rng.sample([i for i in open_to if i not in nothing], 2))
        plans = []
        for index, (name, _kind, _country, currency, abbreviation, weight) in enumerate(pledging):
            pattern = rng.choices(["full", "full2", "partial"], weights=(55, 30, 15))[0]
            if (name, offset) in _EARMARKS:
                pattern = _EARMARKS[(name, offset)][2]
            elif (name, offset) in _PAID_IN_OTHER_CURRENCY:
                pattern = _PAID_IN_OTHER_CURRENCY[(name, offset)][1]
            elif index in nothing:
                pattern = "none"
            elif index in part:
                pattern = "partial"
            # The largest donors pledge in January, the others by the end of April.
            pledged_on = dt.date(year, 1, 10) + dt.timedelta(days=rng.randint(0, 20 if weight >= 7 else 110))
            first_on = pledged_on + dt.timedelta(days=rng.randint(14, 100))
            plans.append(SimpleNamespace(
                name=name, currency=currency, abbreviation=abbreviation, pattern=pattern, pledged_on=pledged_on,
                weight=weight * _percent(rng, (85, 115)), first_on=first_on,
                second_on=first_on + dt.timedelta(days=rng.randint(90, 200)),
                first_share=_percent(rng, (50, 60) if pattern == "full2" else (40, 70)),
                # Half the pledges still owed at the end of their year are completed in the next.
                late_on=dt.date(year + 1, 1, 1) + dt.timedelta(days=rng.randint(20, 240)),
                late=rng.random() < 0.5))
        return [plan for plan in plans if plan.pledged_on <= self.last]

    def _in_pledge_currency(self, contribution: dict, pledge: dict) -> Decimal:
        """A contribution in its pledge's currency: its amount, or its USD at that currency's rate of the day."""
        if contribution["currency"] == pledge["currency"]:
            return contribution["amount"]
        worth = contribution["usd_amount"] / self.rate(pledge["currency"], contribution["received_on"])
        return worth.quantize(Decimal(1).scaleb(-exponent(pledge["currency"])), rounding=ROUND_HALF_EVEN)

    def _outstanding(self, pledge_rows: list[dict], contribution_rows: list[dict], to: dt.date) -> Decimal:
        """USD still owed on the pledges as of ``to``, each in its own currency (DESIGN section 3)."""
        received = defaultdict(Decimal)
        for row in contribution_rows:
            if row["pledge_index"] is not None and row["received_on"] <= to:
                received[row["pledge_index"]] += self._in_pledge_currency(row, pledge_rows[row["pledge_index"]])
        return sum((to_usd(max(pledge["amount"] - received[index], Decimal(0)), pledge["currency"], pledge["usd_rate"])
                    for index, pledge in enumerate(pledge_rows) if pledge["pledged_on"] <= to), Decimal(0))

    @staticmethod
    def _received(contribution_rows: list[dict], to: dt.date) -> Decimal:
        return sum((row["usd_amount"] for row in contribution_rows if row["received_on"] <= to), Decimal(0))
