"""The console's seasons: the list, creating one, and a season's page where its seasonal
tasks and boards are added and it is started.

Every change is the API's mutation, run as the signed-in marketer: a refused input comes
back as the API's FieldProblems, shown beside the fields they name."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from app.web.console.operations import OPERATIONS
from app.web.console.overview import season_state
from app.web.shared.forms import FormReading
from app.web.shared.pages import STAFF_PAGES, Page, PageRefused, problems_by_field, web_page

CONDITIONS = ("COUNT", "SUM", "STREAK", "DISTINCT_DAYS")
TASK_WINDOWS = ("SEASON", "MONTH", "WEEK", "DAY", "LIFETIME")
BOARD_METRICS = ("POINTS_EARNED", "GROWTH", "TASKS_COMPLETED")
BOARD_PERIODS = ("SEASON", "MONTH", "WEEK", "DAY", "ALL_TIME")


def _failure(result: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The message and the problems by field of a mutation's typed failure."""
    return result.get("message", "Not saved."), problems_by_field(result)


async def _seasons(page: Page) -> list[dict[str, Any]]:
    data = await page.read(OPERATIONS, "ConsoleSeasons")
    return [
        {**edge["node"], "state": season_state(edge["node"], page.now)}
        for edge in data["seasons"]["edges"]
    ]


@web_page(*STAFF_PAGES)
async def seasons(page: Page) -> Response:
    return page.render("console/seasons.html", seasons=await _seasons(page), values={}, problems={})


@web_page(*STAFF_PAGES)
async def create_season(page: Page) -> Response:
    form = FormReading(page)
    zone = page.settings.zone
    values = {
        "code": form.text("code"),
        "name": form.text("name"),
        "startsAt": form.moment("startsAt", zone),
        "endsAt": form.moment("endsAt", zone),
        "description": form.text("description"),
    }
    message = ""
    if not form.problems:
        saved = await page.change(OPERATIONS, "ConsoleCreateSeason", input=values)
        if saved["__typename"] == "SeasonSaved":
            return RedirectResponse(f"/console/seasons/{saved['season']['id']}", status_code=303)
        message, form.problems = _failure(saved)
    return page.render(
        "console/seasons.html",
        status=400,
        seasons=await _seasons(page),
        values={name: page.field(name) for name in values},
        problems=form.problems,
        message=message,
    )


async def _season_page(page: Page, season_id: str, *, status: int = 200, **forms: Any) -> Response:
    data = await page.read(OPERATIONS, "ConsoleSeason")
    season = next(
        (e["node"] for e in data["seasons"]["edges"] if e["node"]["id"] == season_id), None
    )
    if season is None:
        raise PageRefused("No such season (or it is archived).", status=404)
    season["state"] = season_state(season, page.now)
    extras = await page.read(OPERATIONS, "ConsoleSeasonBenefits", seasonId=season_id)
    tasks = [e["node"] for e in data["growthTasks"]["edges"] if e["node"]["seasonId"] == season_id]
    boards = [
        e["node"] for e in data["leaderboards"]["edges"] if e["node"]["seasonId"] == season_id
    ]
    return page.render(
        "console/season.html",
        status=status,
        season=season,
        tasks=tasks,
        boards=boards,
        event_types=[e["node"] for e in data["eventTypes"]["edges"]],
        badges=[e["node"] for e in data["badges"]["edges"]],
        conditions=CONDITIONS,
        windows=TASK_WINDOWS,
        metrics=BOARD_METRICS,
        periods=BOARD_PERIODS,
        task=forms.get("task", {"values": {}, "problems": {}, "message": ""}),
        board=forms.get("board", {"values": {}, "problems": {}, "message": ""}),
        start=forms.get("start", {"message": ""}),
        seasonal_benefits=extras["seasonalBenefits"],
        catalogue=[
            (e["node"]["id"], e["node"]["name"]) for e in extras["benefitsCatalogue"]["edges"]
        ],
        tiers=extras["tierLadder"],
        benefit=forms.get("benefit", {"values": {}, "problems": {}, "message": "", "tiers": []}),
    )


@web_page(*STAFF_PAGES)
async def season(page: Page) -> Response:
    return await _season_page(page, page.request.path_params["season_id"])


@web_page(*STAFF_PAGES)
async def add_task(page: Page) -> Response:
    season_id = page.request.path_params["season_id"]
    form = FormReading(page)
    values = {
        "code": form.text("code"),
        "name": form.text("name"),
        "eventType": form.text("eventType"),
        "condition": form.choice("condition", CONDITIONS),
        "target": form.integer("target"),
        "window": form.choice("window", TASK_WINDOWS),
        "rewardPoints": form.integer("rewardPoints", required=False) or 0,
        "rewardBadge": form.optional_text("rewardBadge"),
        "seasonId": season_id,
    }
    # A new badge for completing the task, created with it (createGrowthTask's badge).
    if form.text("badge.code") or form.text("badge.name"):
        values["badge"] = {"code": form.text("badge.code"), "name": form.text("badge.name")}
    shown = [*values, "badge.code", "badge.name"]
    message = ""
    if not form.problems:
        saved = await page.change(OPERATIONS, "ConsoleCreateTask", input=values)
        if saved["__typename"] == "GrowthTaskSaved":
            return RedirectResponse(f"/console/seasons/{season_id}#tasks", status_code=303)
        message, form.problems = _failure(saved)
    task = {
        "values": {n: page.field(n) for n in shown},
        "problems": form.problems,
        "message": message,
    }
    return await _season_page(page, season_id, status=400, task=task)


@web_page(*STAFF_PAGES)
async def add_board(page: Page) -> Response:
    season_id = page.request.path_params["season_id"]
    form = FormReading(page)
    period = form.choice("period", BOARD_PERIODS)
    values = {
        "code": form.text("code"),
        "name": form.text("name"),
        "metric": form.choice("metric", BOARD_METRICS),
        "period": period,
        "seasonId": season_id if period == "SEASON" else None,
    }
    message = ""
    if not form.problems:
        saved = await page.change(OPERATIONS, "ConsoleCreateBoard", input=values)
        if saved["__typename"] == "LeaderboardSaved":
            return RedirectResponse(f"/console/seasons/{season_id}#boards", status_code=303)
        message, form.problems = _failure(saved)
    board = {
        "values": {n: page.field(n) for n in values},
        "problems": form.problems,
        "message": message,
    }
    return await _season_page(page, season_id, status=400, board=board)


@web_page(*STAFF_PAGES)
async def start_season(page: Page) -> Response:
    """Start an upcoming season now: its start moved to this moment."""
    return await _move_season(page, "startsAt")


@web_page(*STAFF_PAGES)
async def end_season(page: Page) -> Response:
    """End a running season now: its end moved to this moment."""
    return await _move_season(page, "endsAt")


async def _move_season(page: Page, bound: str) -> Response:
    season_id = page.request.path_params["season_id"]
    saved = await page.change(
        OPERATIONS, "ConsoleStartSeason", id=season_id, input={bound: page.now.isoformat()}
    )
    if saved["__typename"] == "SeasonSaved":
        return RedirectResponse(f"/console/seasons/{season_id}", status_code=303)
    # The message names each problem's field (there is no form to show them beside).
    return await _season_page(
        page, season_id, status=400, start={"message": saved.get("message", "Not saved.")}
    )


@web_page(*STAFF_PAGES)
async def attach_benefit(page: Page) -> Response:
    """Give a benefit to the season's members of the tiers ticked."""
    season_id = page.request.path_params["season_id"]
    form = FormReading(page)
    benefit_id = form.text("benefitId")
    assert page.form is not None
    tier_codes = [code for code in page.form.getlist("tierCodes") if isinstance(code, str)]
    if not benefit_id:
        form.problems["benefitId"] = "pick a benefit"
    message = ""
    if not form.problems:
        saved = await page.change(
            OPERATIONS,
            "ConsoleAttachBenefit",
            seasonId=season_id,
            benefitId=benefit_id,
            tierCodes=tier_codes,
        )
        if saved["__typename"] == "SeasonalBenefitAttached":
            return RedirectResponse(f"/console/seasons/{season_id}#benefits", status_code=303)
        message, form.problems = _failure(saved)
    benefit = {
        "values": {"benefitId": benefit_id},
        "problems": form.problems,
        "message": message,
        "tiers": tier_codes,
    }
    return await _season_page(page, season_id, status=400, benefit=benefit)
