"""The console's overview: members per tier, the points liability, seasons running and
to come, recent promotions and demotions, with charts from the analytics queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.responses import Response

from app.web.console.operations import OPERATIONS
from app.web.shared.charts import Series, bar_chart
from app.web.shared.pages import STAFF_PAGES, Page, web_page

HISTORY_DAYS = 180
FUNNEL_TASKS = 6


def season_state(season: dict[str, str], now: datetime) -> str:
    if datetime.fromisoformat(season["endsAt"]) <= now:
        return "ended"
    return "running" if datetime.fromisoformat(season["startsAt"]) <= now else "upcoming"


@web_page(*STAFF_PAGES)
async def overview(page: Page) -> Response:
    data = await page.read(
        OPERATIONS,
        "ConsoleOverview",
        **{
            "from": (page.now - timedelta(days=HISTORY_DAYS)).isoformat(),
            "to": page.now.isoformat(),
        },
    )
    tiers = data["tierDistribution"]
    flow = data["pointsFlow"]
    movements = [m for m in data["tierMovements"] if m["promotions"] or m["demotions"]][-8:]
    seasons = [
        {**edge["node"], "state": season_state(edge["node"], page.now)}
        for edge in data["seasons"]["edges"]
    ]
    periods = flow["periods"][-6:]
    # The tasks most members started: a funnel of the busiest, not of every task.
    funnel = sorted(data["taskFunnel"], key=lambda t: t["started"], reverse=True)[:FUNNEL_TASKS]
    return page.render(
        "console/overview.html",
        tiers=tiers,
        members=sum(t["members"] for t in tiers),
        liability=flow["outstandingLiability"],
        periods=periods,
        movements=movements,
        seasons=[s for s in seasons if s["state"] != "ended"],
        tier_chart=bar_chart(
            "Members per tier",
            [t["name"] for t in tiers],
            [Series("Members", [t["members"] for t in tiers])],
        ),
        movement_chart=bar_chart(
            "Promotions and demotions per week",
            [m["period"] for m in movements],
            [
                Series("Promoted", [m["promotions"] for m in movements]),
                Series("Demoted", [m["demotions"] for m in movements]),
            ],
        ),
        funnel=funnel,
        funnel_chart=bar_chart(
            "Task funnel: members eligible, started and completed",
            [t["name"] for t in funnel],
            [
                Series("Eligible", [t["eligible"] for t in funnel]),
                Series("Started", [t["started"] for t in funnel]),
                Series("Completed", [t["completed"] for t in funnel]),
            ],
        ),
        flow_chart=bar_chart(
            "Points issued and spent per month",
            [p["period"] for p in periods],
            [
                Series("Issued", [p["issued"] for p in periods]),
                Series("Spent", [p["spent"] for p in periods]),
            ],
        ),
    )
