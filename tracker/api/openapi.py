"""The OpenAPI 3.1 description of the API, written by hand (tests/api/test_api.py checks it against the routes).

Keep it exact: tests/api/test_api_fuzz.py generates requests from it and checks
every answer against it.
"""
from __future__ import annotations

from tracker.api.params import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from tracker.funding.plan_serialise import AMOUNT_PATTERN, ORDER_PATTERN
from tracker.funding.planner import REASONS, SHARES
from tracker.models import CATEGORIES, DISBURSEMENT_STATES, PROJECT_STATUSES, REPORT_STATES
from tracker.registry.claim_figures import OPEN_STEPS, OUTCOMES, TRANSITIONS, transition_key

MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "US dollars (or the currency "
         "given beside it) with two decimals, as a string so that no float ever holds money", "examples": ["1250.50"]}
RATIO = {"type": ["number", "null"], "description": "a ratio; null when its divisor is 0"}
DAY = {"type": "string", "format": "date"}
#: The dates a query takes: ISO YYYY-MM-DD, years 1900 to 2199.
QUERY_DAY = {"type": "string", "format": "date",
             "pattern": r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}
SCOPE_PATTERN = r"^(fund|country:[A-Za-z]{2}|project:[A-Za-z0-9][A-Za-z0-9._-]{0,59})$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$"
REPORT_NUMBER_PATTERN = r"^TF-[0-9]{4}-[0-9]{4}$"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _object(properties: dict, *, required=None, description: str | None = None) -> dict:
    out = {"type": "object", "additionalProperties": False, "properties": properties,
           "required": list(required if required is not None else properties)}
    if description:
        out["description"] = description
    return out


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


FIGURE_KEYS = {
    "need": MONEY, "allocated": MONEY, "committed": MONEY, "disbursed": MONEY, "gap": MONEY, "coverage": RATIO,
    "balance": MONEY,
    "overcommitted": dict(MONEY, description="max(−balance, 0): approved or paid beyond the allocations (a scope's "
                                             "is the sum of its projects'); 0.00 when not over-committed"),
    "burn": MONEY,
    "runway_months": dict(RATIO, description="max(balance, 0) / burn, to one decimal: never negative; null when "
                                             "burn is 0"),
    "school_fee_forward_need": MONEY,
    "children_at_risk": {"type": ["integer", "null"], "minimum": 0,
                         "description": "children whose next term is not covered; null for a donor's token (the "
                                        "donor reports do not publish these counts, which can be small)"},
}


#: A count of claims: a number, or in the public figures "<10" (1 to REPORT_MIN_CELL - 1) or "x" (hidden).
CLAIM_COUNT = {"oneOf": [
    {"type": "integer", "minimum": 0},
    {"type": "string", "pattern": "^(<[0-9]+|x)$", "examples": ["<10", "x"],
     "description": "public figures only: \"<10\" for 1 to 9 claims (REPORT_MIN_CELL − 1), \"x\" for a count "
                    "of 10 or more hidden so that a small one cannot be worked out"},
]}


def _claim_counts(keys, *, all_required: bool) -> dict:
    return _object({key: CLAIM_COUNT for key in keys}, required=list(keys) if all_required else [])


CLAIM_FIGURES = {
    "received": CLAIM_COUNT, "open": CLAIM_COUNT, "stalled": CLAIM_COUNT,
    "open_by_step": dict(_claim_counts(OPEN_STEPS, all_required=False),
                         description="open claims by their current step (a step with none may be left out)"),
    "stalled_by_step": dict(_claim_counts(OPEN_STEPS, all_required=False),
                            description="stalled claims by their current step"),
    "outcomes": dict(_claim_counts(OUTCOMES, all_required=True),
                     description="claims that reached each outcome (paternity_established: whatever followed)"),
    "median_days": _object({transition_key(t): {"type": ["number", "null"], "minimum": 0} for t in TRANSITIONS},
                           description="median days between the two steps over the claims with both, to one "
                                       "decimal; null when none has (public: when fewer than 10 have)"),
}


def _page(item: str, description: str) -> dict:
    link = {"type": ["string", "null"], "description": "the URL of the next (previous) page; null on the last "
                                                       "(first) one"}
    return _object({
        "items": {"type": "array", "items": _ref("schemas", item)},
        "total": {"type": "integer", "minimum": 0, "description": "items in all pages"},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "offset": {"type": "integer", "minimum": 0},
        "next": link,
        "previous": link,
    }, description=description)


SCHEMAS = {
    "Problem": {
        "type": "object",
        "description": "An error (RFC 9457): what is wrong and, for a query parameter, which one.",
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599}, "detail": {"type": "string"},
            "parameter": {"type": "string", "description": "the query parameter at fault"},
        },
        "required": ["type", "title", "status", "detail"],
        "additionalProperties": False,
    },
    "FundFigures": _object({
        "pledged": MONEY, "received": MONEY,
        "outstanding_pledges": dict(MONEY, description="per pledge, what it still owes in its own currency, valued "
                                                       "at its frozen rate; summed"),
        "exchange_difference": dict(MONEY, description="over the contributions received against pledges: their "
                                                       "USD less their amount in the pledge's currency at the "
                                                       "pledge's rate; negative when pledge currencies fell"),
        "allocated": MONEY, "unallocated": MONEY,
        "free_resources": dict(MONEY, description="unallocated + the outstanding pledges not earmarked: money that "
                                                  "may still go to any scope"),
        "uncovered_gap": dict(MONEY, deprecated=True, description="deprecated: a copy of totals.uncovered_gap, kept "
                                                                  "for one release"),
    }, description="The Fund's own money as of the end of the period, whatever the scope."),
    "Figures": _object({
        **FIGURE_KEYS,
        "earmarked_outstanding": dict(MONEY, description="outstanding pledges earmarked for the scope (for the "
                                                         "whole Fund: every earmarked one)"),
        "uncovered_gap": dict(MONEY, description="what new pledges must still find: for the whole Fund max(gap − "
                                                 "unallocated − outstanding_pledges, 0); for a country or a "
                                                 "project max(gap − earmarked_outstanding, 0)"),
    }, description="The project figures of DESIGN section 3, summed, and what pledges do for the scope's gap."),
    "ProjectFigures": _object({"code": {"type": "string"}, "country": {"type": "string"}, **FIGURE_KEYS}),
    "CategoryFigures": _object({"need": MONEY, "disbursed": MONEY}),
    "FundingPicture": _object({
        "scope": {"type": "string", "pattern": SCOPE_PATTERN},
        "from": DAY, "to": DAY, "as_of": DAY,
        "currency": {"type": "string", "const": "USD"},
        "fund": _ref("schemas", "FundFigures"),
        "totals": _ref("schemas", "Figures"),
        "by_category": {"type": "object", "additionalProperties": _ref("schemas", "CategoryFigures"),
                        "propertyNames": {"enum": list(CATEGORIES)}},
        "projects": {"type": "array", "items": _ref("schemas", "ProjectFigures")},
    }, description="The same object as `flask report funding-gap --format json` (DESIGN section 7)."),
    "Project": _object({"code": {"type": "string"}, "country": {"type": "string"}, **FIGURE_KEYS,
                        "title": {"type": "string"}, "status": {"enum": list(PROJECT_STATUSES)}}),
    "ProjectPage": _page("Project", "Projects of your countries with their figures for the period, by code."),
    "ChildAtRisk": _object({
        "project_code": {"type": "string"}, "child_code": {"type": "string"}, "mother_code": {"type": "string"},
        "term": {"type": "integer", "minimum": 1, "maximum": 4}, "fee": MONEY,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, "fee_usd": MONEY,
    }, description="A child whose lowest uncovered term of the academic year the balance does not cover."),
    "ChildrenAtRiskPage": _page("ChildAtRisk", "Children at risk, by term then child code."),
    "Disbursement": _object({
        "reference": {"type": "string"}, "project_code": {"type": "string"},
        "category": {"enum": list(CATEGORIES)}, "mother_code": {"type": "string"},
        "child_code": {"type": ["string", "null"]}, "academic_year": {"type": ["string", "null"]},
        "term": {"type": ["integer", "null"]}, "amount": MONEY,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, "usd_amount": _nullable(MONEY),
        "status": {"enum": list(DISBURSEMENT_STATES)}, "entered_on": DAY, "paid_on": _nullable(DAY),
    }, description="A payment, by codes: never the payee nor any field of a person."),
    "DisbursementPage": _page("Disbursement", "Disbursements, newest first."),
    "Report": _object({
        "number": {"type": "string"}, "scope": {"type": "string"}, "period_from": DAY, "period_to": DAY,
        "as_of": DAY, "lang": {"enum": ["en", "fr"]}, "status": {"enum": list(REPORT_STATES)},
        "issued_at": {"type": "string", "format": "date-time"},
        "fund_wide": {"type": "boolean", "description": "addressed to every donor rather than one"},
        "sha256": {"type": ["string", "null"]}, "pages": {"type": ["integer", "null"]},
        "size": {"type": ["integer", "null"]},
        "pdf": {"type": ["string", "null"], "description": "where to download the PDF; null until it is rendered"},
    }, description="An issued donor report."),
    "ReportPage": _page("Report", "Issued reports, newest first."),
    "ClaimFigures": _object(CLAIM_FIGURES, description="The claims figures of a Member State, or of all of them."),
    "MemberStateClaims": _object({
        "member_state": {"type": ["string", "null"], "pattern": "^[A-Z]{2}$",
                         "description": "ISO 3166 alpha-2 code of the personnel's Member State; null for the "
                                        "public figures' row of Member States merged together"},
        **CLAIM_FIGURES,
        "merged": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
                   "description": "on the merged row only: the Member States it holds"},
    }, required=["member_state", *CLAIM_FIGURES]),
    "ClaimsSummary": _object({
        "to": dict(DAY, description="the figures are as of this day (public: the end of a month)"),
        "stalled_days": {"type": "integer", "minimum": 0,
                         "description": "an open claim is stalled when its latest step is more days before `to`"},
        "public": {"type": "boolean", "description": "true for the public, suppressed figures (donors' tokens)"},
        "member_states": {"type": "array", "items": _ref("schemas", "MemberStateClaims"),
                          "description": "by Member State code; a merged row last"},
        "totals": _ref("schemas", "ClaimFigures"),
    }, description="The same object as `flask report claims --format json` (DESIGN section 7)."),
    "PlanStanding": _object({
        "children_at_risk": {"type": "integer", "minimum": 0}, "balance": MONEY,
        "runway_months": FIGURE_KEYS["runway_months"], "gap": MONEY, "overcommitted": MONEY, "allocated": MONEY,
    }, description="The figures an allocation moves, as the funding engine would compute them."),
    "PlanAllocation": _object({
        "project": {"type": "string"}, "country": {"type": "string"},
        "amount_usd": dict(MONEY, description="what the plan gives the project"),
        "children_covered": {"type": "integer", "minimum": 0,
                             "description": "children at risk before less after: kept in school next term"},
        "reasons": {"type": "array", "items": {"enum": list(REASONS)},
                    "description": "the priorities that put money here, in order: children, overcommitment, gap"},
        "before": _ref("schemas", "PlanStanding"), "after": _ref("schemas", "PlanStanding"),
    }),
    "PlanPot": _object({
        "kind": {"enum": ["free", "country", "project"]},
        "key": {"type": ["string", "null"], "description": "the country or project code; null for free money"},
        "amount": MONEY, "used": MONEY,
    }, description="Money the plan may spend: free, or a pledge earmarked for a country or a project."),
    "Plan": _object({
        "scope": {"type": "string", "pattern": SCOPE_PATTERN}, "to": DAY, "share": {"enum": list(SHARES)},
        "with_pledges": {"type": "boolean"},
        "amount": dict(MONEY, description="the money in hand shared out (default: the Fund's unallocated money)"),
        "pledges": dict(MONEY, description="the outstanding pledges counted with it (0.00 without with_pledges)"),
        "available": dict(MONEY, description="amount + pledges: what the plan may spend"),
        "total": dict(MONEY, description="what the plan gives in all"),
        "left": dict(MONEY, description="available − total: what no project of the scope can take"),
        "unallocated": dict(MONEY, description="the Fund's money received and not yet allocated, as of `to`"),
        "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                        "description": "SHA-256 of the data the plan rests on: it changes when a figure does"},
        "before": _ref("schemas", "PlanStanding"), "after": _ref("schemas", "PlanStanding"),
        "allocations": {"type": "array", "items": _ref("schemas", "PlanAllocation"),
                        "description": "the projects the plan gives something, by code"},
        "pots": {"type": "array", "items": _ref("schemas", "PlanPot"),
                 "description": "with_pledges only: the free money, then each earmarked pot"},
    }, required=["scope", "to", "share", "with_pledges", "amount", "pledges", "available", "total", "left",
                 "unallocated", "fingerprint", "before", "after", "allocations"],
       description="The same object as `flask plan allocations --format json`: nothing is allocated."),
}


def _problem(description: str, headers: dict | None = None) -> dict:
    out = {"description": description,
           "content": {"application/problem+json": {"schema": _ref("schemas", "Problem")}}}
    if headers:
        out["headers"] = headers
    return out


RESPONSES = {
    "BadRequest": _problem("A query parameter is not of its type (limit=abc, from=notadate, scope=bogus), unknown "
                           "or repeated."),
    "Unauthorized": _problem("No token, or a malformed, unknown, expired or revoked one, or a disabled user's.", {
        "WWW-Authenticate": {"required": True, "schema": {"type": "string"},
                             "description": "Bearer, with the reason as `error`"}}),
    "Forbidden": _problem("The token's role may not read this (or this scope)."),
    "NotFound": _problem("No such record, or not in the countries of the token's user."),
    "Unprocessable": _problem("A parameter of the right type whose value cannot be used (limit 0 or over 200, "
                              "a period that ends before it starts)."),
    "TooManyRequests": _problem("The token's rate limit is used up; retry later.", {
        "Retry-After": {"required": False, "schema": {"type": "string"}}}),
    "ServerError": _problem("The server failed; nothing was changed."),
}

PARAMETERS = {
    "scope": _query("scope", {"type": "string", "pattern": SCOPE_PATTERN, "default": "fund", "maxLength": 68},
                    "fund, country:CD or project:CODE. Donors: fund only."),
    "from": _query("from", QUERY_DAY, "First day of the period (default: 1 January of this year)."),
    "to": _query("to", QUERY_DAY, "Last day of the period, included (default: today)."),
    "limit": _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                    "Items per page."),
    "offset": _query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                     "Items to skip."),
    "number": {"name": "number", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": REPORT_NUMBER_PATTERN, "maxLength": 20},
               "description": "The report's number, such as TF-2026-0007."},
}


def _operation(operation_id: str, summary: str, ok: dict, parameters: list, *, errors=(400, 401, 403, 404, 422),
               tags=()) -> dict:
    refs = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 422: "Unprocessable"}
    responses = {"200": ok}
    for status in errors:
        responses[str(status)] = _ref("responses", refs[status])
    responses["429"] = _ref("responses", "TooManyRequests")
    responses["500"] = _ref("responses", "ServerError")
    return {"get": {"operationId": operation_id, "summary": summary, "tags": list(tags), "parameters": parameters,
                    "responses": responses}}


def _json(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("schemas", schema)}}}


def _p(name: str) -> dict:
    return _ref("parameters", name)


PATHS = {
    "/api/v1/funding": _operation(
        "getFunding", "The funding picture of a scope and period (managers, admins; donors: the fund only)",
        _json("FundingPicture", "The figures."), [_p("scope"), _p("from"), _p("to")], tags=["funding"]),
    "/api/v1/projects": _operation(
        "listProjects", "Projects with their funding figures (managers, admins; their countries)",
        _json("ProjectPage", "One page of projects."),
        [_query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"}, "Only this country's projects."),
         _query("status", {"enum": list(PROJECT_STATUSES)}, "Only projects in this state."),
         _p("from"), _p("to"), _p("limit"), _p("offset")], tags=["funding"]),
    "/api/v1/children-at-risk": _operation(
        "listChildrenAtRisk", "Children at risk of losing school, by code (staff, managers, admins)",
        _json("ChildrenAtRiskPage", "One page of children."),
        [_p("scope"), _p("from"), _p("to"), _p("limit"), _p("offset")], tags=["records"]),
    "/api/v1/disbursements": _operation(
        "listDisbursements", "Disbursements by codes (staff, managers, admins; their countries)",
        _json("DisbursementPage", "One page of disbursements."),
        [_query("status", {"enum": list(DISBURSEMENT_STATES)}, "Only disbursements in this state."),
         _query("category", {"enum": list(CATEGORIES)}, "Only this category."),
         _query("project", {"type": "string", "pattern": CODE_PATTERN}, "Only this project's (404 outside your "
                                                                          "countries)."),
         _query("from", QUERY_DAY, "Entered on or after this day."),
         _query("to", QUERY_DAY, "Entered on or before this day."),
         _p("limit"), _p("offset")], tags=["records"]),
    "/api/v1/reports": _operation(
        "listReports", "Issued donor reports (admins: all; managers: their countries' and projects', and the "
        "Fund's when they manage every country; donors: theirs and fund-wide ones)",
        _json("ReportPage", "One page of reports."), [_p("limit"), _p("offset")], errors=(400, 401, 403, 422),
        tags=["reports"]),
    "/api/v1/reports/{number}": _operation(
        "getReport", "One issued report's metadata", _json("Report", "The report."), [_p("number")],
        errors=(401, 403, 404), tags=["reports"]),
    "/api/v1/reports/{number}/pdf": _operation(
        "getReportPdf", "One issued report's PDF, the bytes as issued (the download is audited)",
        {"description": "The PDF.", "content": {"application/pdf": {"schema": {"type": "string",
                                                                               "format": "binary"}}}},
        [_p("number")], errors=(401, 403, 404), tags=["reports"]),
    "/api/v1/claims/summary": _operation(
        "getClaimsSummary", "Paternity claims by Member State (managers, admins: their countries' figures as of "
        "`to`; donors: the public, suppressed figures of the whole Fund as of a month end)",
        _json("ClaimsSummary", "The figures."),
        [_query("to", QUERY_DAY, "As of this day (default: today). Donors: the last month end on or before it, "
                                 "at the latest the end of last month.")],
        errors=(400, 401, 403), tags=["claims"]),
    "/api/v1/plan": _operation(
        "getPlan", "The allocation planner's proposal (managers; over the projects of their countries): the fewest "
        "children at risk, then over-commitments cleared, then the gaps. It allocates nothing",
        _json("Plan", "The proposal."),
        [_query("amount", {"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": 15},
                "US dollars to share out (default: the Fund's money received and not yet allocated, as of `to`)."),
         _query("with_pledges", {"type": "boolean", "default": False},
                "Count the outstanding pledges too, as they are earmarked."),
         _p("scope"),
         _query("to", QUERY_DAY, "The day the allocations would be dated (default: today)."),
         _query("share", {"enum": list(SHARES), "default": "need"},
                "What is left after children and over-commitments: in proportion to each project's gap, or "
                "project by project in the `order` given."),
         _query("order", {"type": "string", "pattern": ORDER_PATTERN, "maxLength": 12200},
                "With `share=order`: project codes of the scope separated by commas, first served first; the "
                "projects not named come after, by code.")],
        tags=["funding"]),
    "/api/v1/openapi.json": {"get": {
        "operationId": "getOpenApi", "summary": "This description (public)", "security": [], "tags": ["meta"],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      "429": _ref("responses", "TooManyRequests"), "500": _ref("responses", "ServerError")},
    }},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trust Fund grant tracker API",
            "version": "1.0.0",
            "description": "Read-only figures and codes of the Trust Fund's grant tracker. Authenticate with a "
                           "personal token made on your account page: `Authorization: Bearer <token>`. "
                           "Errors are application/problem+json. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal API token (tft_...)."}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
        },
    }
