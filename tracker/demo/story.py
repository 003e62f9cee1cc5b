"""The story the demo data tells: partners and projects, donors, currencies and exchange rates, and the odds
of what happens to people and payments."""
from __future__ import annotations

MOTHERS_PER_SCALE = 600
CHUNK = 500    # mothers generated and written at a time
DIRECT = ("school_fees", "iga", "medical", "psychosocial", "legal", "material")

# ---------------------------------------------------------------------------
# Partners and projects. Years are relative: 0 is the previous calendar year.
# ---------------------------------------------------------------------------

PARTNERS = {
    "UNICEF": "un_entity", "UNFPA": "un_entity", "UNDP": "un_entity", "IOM": "un_entity", "UN Women": "un_entity",
    "Mama Tumaini Foundation": "ngo", "Femmes Debout pour la Dignité": "ngo",
    "Association centrafricaine Espoir des Mamans": "ngo", "Nile Women's Recovery Network": "ngo",
    "Fondasyon Limyè pou Timoun": "ngo", "Mano River Survivors' Aid": "ngo",
}

# key, country, partner, title, (start year offset, month), (end year offset, month), status,
# share of the mothers, funding profile, places
PROJECTS = [
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
    ("ss-bw", "SS", "Nile Women's Recovery Network",
     "Livelihood and education support for SEA survivors, Bentiu and Wau",
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
    ("lr-bn", "LR", "Mano River Survivors' Aid",
     "Legacy support for survivors of SEA and their children, Bong and Nimba",
     (-3, 1), (0, 12), "closed", 0.5, "mid", ["Gbarnga", "Ganta", "Sanniquellie", "Totota", "Palala"]),
]
#: The projects' titles in French (by key), for the reports issued in French. SEA is EAS in French:
#: exploitation et atteintes sexuelles.
PROJECT_TITLES_FR = {
    "cd-nk": "Soutien à l'éducation et aux moyens de subsistance des enfants nés d'EAS, Nord-Kivu",
    "cd-it": "Assistance globale aux victimes d'EAS et à leurs enfants, Ituri",
    "cd-sk": "Réinsertion socio-économique des victimes d'EAS, Sud-Kivu",
    "cd-ka": "Demandes en reconnaissance de paternité, aide juridique et pensions alimentaires pour les victimes "
             "d'EAS, Kasaï",
    "cf-bg": "Soutien médical, psychosocial et scolaire aux victimes d'EAS, Bangui",
    "cf-bb": "Moyens de subsistance et scolarisation des enfants nés d'EAS, Bambari et Kaga-Bandoro",
    "ss-jm": "Soutien intégré aux victimes d'EAS et aux enfants nés d'EAS, Djouba et Malakal",
    "ss-bw": "Soutien aux moyens de subsistance et à l'éducation des victimes d'EAS, Bentiu et Wau",
    "ht-pp": "Soutien juridique, psychosocial et éducatif aux mères d'enfants nés d'EAS, Port-au-Prince",
    "ht-sd": "Soutien à l'éducation et aux revenus des enfants nés d'EAS et de leurs mères, Les Cayes et Port-Salut",
    "lr-mo": "Soutien à l'éducation et aux moyens de subsistance des enfants nés d'EAS, Montserrado",
    "lr-bn": "Suivi des victimes d'EAS des cas anciens et de leurs enfants, Bong et Nimba",
}
#: Per funding profile, percent ranges of (m, a): direct need = direct spending × m (outreach and admin
#: come on top), allocations = direct spending × a, so coverage is about a / (1.17 m).
PROFILES = {"well": ((118, 128), (114, 124)), "mid": ((150, 175), (106, 112)), "under": ((230, 280), (100, 104))}
#: A pipeline project's yearly need per category, in USD (times the scale).
PIPELINE_NEED = {"school_fees": 14000, "iga": 8000, "medical": 6000, "psychosocial": 5000, "legal": 12000,
                  "material": 3000}

# ---------------------------------------------------------------------------
# Donors, currencies, exchange rates.
# ---------------------------------------------------------------------------

# name, kind, country, currency, abbreviation, weight (share of the money)
DONORS = [
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
#: The donors' names in French, for the reports issued in French: a Member State as the United Nations write
#: it in French, an organisation by its official French name (the Francophonie's is French already; the NGO
#: has none, its name stays).
DONOR_NAMES_FR = {
    "Norway": "Norvège", "Sweden": "Suède", "Japan": "Japon", "Canada": "Canada", "Germany": "Allemagne",
    "United Kingdom": "Royaume-Uni", "Netherlands": "Pays-Bas", "Australia": "Australie", "Switzerland": "Suisse",
    "Ireland": "Irlande", "Denmark": "Danemark", "Italy": "Italie", "Finland": "Finlande", "India": "Inde",
    "Portugal": "Portugal", "Bangladesh": "Bangladesh", "Nigeria": "Nigéria",
    "Organisation internationale de la Francophonie": "Organisation internationale de la Francophonie",
    "Hope Beyond Harm International": "Hope Beyond Harm International",
    "Private donations (online appeal)": "Dons privés (appel en ligne)",
    "Withheld payments (UN personnel)": "Sommes retenues (personnel des Nations Unies)",
}
#: Earmarked pledges, and how each is paid: (donor, year offset) -> ("country", code) or ("project", project
#: key), and the pattern of its payments (see pledges.seed_pledges_and_contributions). Canada earmarks for
#: Haiti, then for a project in Ituri; Ireland's, Canada's second and the Netherlands' second are still owed.
EARMARKS = {
    ("Japan", 0): ("country", "CD", "full2"), ("Japan", 1): ("country", "CD", "full"),
    ("Sweden", 0): ("project", "cf-bg", "full"), ("Ireland", 0): ("country", "LR", "partial"),
    ("Canada", 0): ("country", "HT", "full"), ("Canada", 1): ("project", "cd-it", "partial"),
    ("United Kingdom", 1): ("project", "ss-jm", "full"), ("Netherlands", 1): ("country", "CF", "none"),
}
#: Pledges whose first instalment comes in another currency (a euro pledge paid partly in dollars), and
#: their pattern: (donor, year offset) -> (currency, pattern). Italy's is then completed in euros.
PAID_IN_OTHER_CURRENCY = {("Italy", 0): ("USD", "full2"), ("Portugal", 1): ("USD", "partial")}
#: The Fund is underfunded: for each year, as of its end (or today), what no money received or pledged covers
#: is this share of the year's need (percent range); of what covers the rest of the gap, this share is money
#: received and not allocated yet, and the rest is pledges still to come in.
UNCOVERED_SHARE = (22, 28)
UNALLOCATED_SHARE = (25, 35)
#: Two projects whose latest tranche is sized, at the end of last year and today, for a balance of this many
#: percent of their monthly burn: one has approved and paid beyond its allocations, one has a month left.
BALANCE_STORY = {"ss-bw": (-70, -30), "cd-sk": (80, 140)}

# USD per unit in units of 1e-8: the rate on 1 January of the previous year, its trend in percent a year,
# its monthly noise in per mille, the quantum. The donors' currencies move both ways while their pledges are
# paid (the krone, the yen, the franc and the euro rise against the dollar; the pound, the Swedish krona and
# the Canadian and Australian dollars fall), so that a pledge received in full in its own currency is worth
# more or fewer dollars than when it was made; the South Sudanese pound loses a third of its value.
RATE_WALKS = {
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

ACTIVITIES = ["tailoring", "small trade", "soap-making", "livestock", "farming", "tea shop", "hairdressing",
               "bakery"]
EXIT_WEIGHTS = {"graduated": 45, "moved": 25, "withdrew": 20, "deceased": 10}
CLOSED_EXIT_WEIGHTS = {"graduated": 70, "moved": 15, "withdrew": 10, "deceased": 5}
IGA_WEIGHTS = {"planned": 10, "active": 45, "struggling": 15, "closed_successful": 20, "closed_failed": 10}
CLAIM_WEIGHTS = {"received": 8, "notified_to_member_state": 10, "dna_sample_collected": 10,
                  "dna_result_received": 7, "paternity_established": 8, "not_established": 8, "withdrawn": 7,
                  "legally_recognised": 10, "support_ordered": 12, "support_paid": 20}
CLAIM_BASE = ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received")
CLAIM_AFTER = ("paternity_established", "legally_recognised", "support_ordered", "support_paid")
CLAIM_FINAL = ("not_established", "withdrawn", "support_paid")
#: Days from the step before.
CLAIM_GAPS = {"notified_to_member_state": (10, 60), "dna_sample_collected": (30, 180),
               "dna_result_received": (20, 120), "paternity_established": (3, 45), "not_established": (3, 45),
               "withdrawn": (5, 200), "legally_recognised": (60, 240), "support_ordered": (30, 180),
               "support_paid": (30, 200)}
CORRECTION_REASONS = ["Date mistyped; corrected from the laboratory's report",
                       "Wrong date entered; corrected from the notification letter",
                       "Date corrected after checking the case file"]
#: Target states of a payment entered in the past, and of one entered ahead of its term.
PAST_STATES = {"paid": 840, "approved": 40, "submitted": 30, "draft": 20, "rejected": 35, "voided": 35}
AHEAD_STATES = {"paid": 50, "approved": 30, "submitted": 10, "draft": 10}
FOLLOW_UP_STATES = {"paid": 90, "approved": 5, "submitted": 5}
REJECTIONS = ["Amount does not match the school's invoice", "Duplicate of an earlier payment",
               "Invoice missing; please attach it and resubmit", "Wrong payee: the provider's account has changed",
               "Beneficiary not enrolled for this term"]
VOIDS = ["Paid to the wrong account; reissued", "Duplicate payment recovered from the provider",
          "Provider refunded: the child changed schools", "Entered against the wrong term"]
INCOME_NOTES = ["Rainy season, fewer customers", "Bought new stock", "Child sick, closed for two weeks",
                 "Market closed during insecurity", "Good month: school opening", "Price of inputs went up"]
