"""Where the web pages are: the routes app/main.py mounts beside /graphql."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.web.console import audit, members, overview, seasons
from app.web.portal import live
from app.web.portal import pages as portal
from app.web.shared import sign_in

STATIC = Path(__file__).resolve().parent / "static"


def web_routes() -> list[BaseRoute]:
    return [
        Route("/sign-in", sign_in.sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in.sign_in, methods=["POST"]),
        Route("/sign-out", sign_in.sign_out, methods=["POST"]),
        Route("/console", overview.overview, methods=["GET"]),
        Route("/console/seasons", seasons.seasons, methods=["GET"]),
        Route("/console/seasons", seasons.create_season, methods=["POST"]),
        Route("/console/seasons/{season_id}", seasons.season, methods=["GET"]),
        Route("/console/seasons/{season_id}/tasks", seasons.add_task, methods=["POST"]),
        Route("/console/seasons/{season_id}/boards", seasons.add_board, methods=["POST"]),
        Route("/console/seasons/{season_id}/start", seasons.start_season, methods=["POST"]),
        Route("/console/seasons/{season_id}/end", seasons.end_season, methods=["POST"]),
        Route("/console/seasons/{season_id}/benefits", seasons.attach_benefit, methods=["POST"]),
        Route("/console/members", members.members, methods=["GET"]),
        Route("/console/members/{member_id}", members.member, methods=["GET"]),
        Route("/console/members/{member_id}/adjust", members.adjust_points, methods=["POST"]),
        Route("/console/audit", audit.audit_log, methods=["GET"]),
        Route("/portal", portal.portal_home, methods=["GET"]),
        Route("/portal/part", portal.portal_live_part, methods=["GET"]),
        Route("/portal/ceremony", portal.ceremony, methods=["GET"]),
        Route("/portal/boards/visibility", portal.board_visibility, methods=["POST"]),
        Route("/portal/live", live.portal_live, methods=["GET"]),
        # htmx and the stylesheet: pinned copies, served by the app (no CDN).
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
