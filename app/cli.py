"""The ``laurel`` command: migrate, load the demo, serve, export the schema and documents,
import members and events, merge two members, export or erase a member's data."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from app import db
from app.config import Settings

if TYPE_CHECKING:
    from app.services.activity.imports import ImportProgress, ImportReport
    from app.services.shared.audit import Actor

SCHEMA_PATH = Path("graphql/schema.graphql")
ROLES_PATH = Path("docs/api/roles.md")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        sys.exit(f"laurel: bad configuration:\n{exc}")


async def _load_demo(settings: Settings) -> None:
    from app.services.programme.demo import load_demo

    async with db.connect(settings):
        result = await load_demo(now=datetime.now(UTC), zone=settings.zone)
    if result.loaded:
        print(f"Loaded the demo programme: 4 tiers, {result.members} members.")
    else:
        print(
            f"Demo not loaded: the database already holds a programme ({result.members} members)."
        )


def cmd_migrate(args: argparse.Namespace) -> None:
    asyncio.run(db.migrate(_settings()))
    print("Migrations applied.")


def cmd_demo(args: argparse.Namespace) -> None:
    settings = _settings()
    asyncio.run(db.migrate(settings))
    asyncio.run(_load_demo(settings))


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.api.http.limits import MAX_BODY_BYTES

    settings = _settings()
    asyncio.run(db.migrate(settings))
    if settings.load_demo and not settings.is_production:
        asyncio.run(_load_demo(settings))
    base = f"http://{args.host}:{args.port}"
    print(f"Laurel is serving GraphQL on {base}/graphql", flush=True)
    print(f"  the console: {base}/console   the member portal: {base}/portal", flush=True)
    if not settings.is_production:
        print(f"  sign in as a demo marketer, admin or member at {base}/sign-in", flush=True)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        access_log=False,  # the app writes one structured line per request itself
        proxy_headers=True,
        # A WebSocket message is held to the limit of an HTTP body.
        ws_max_size=MAX_BODY_BYTES,
    )


async def _member_id(settings: Settings, external_id: str) -> int:
    from app.services.members.enrollment import enrolled_under

    async with db.connect(settings):
        member = await enrolled_under(external_id)
    if member is None:
        sys.exit(f"laurel: no member with external id {external_id!r}")
    return cast(int, member.id)  # tortoise types field values as Any


def cmd_token(args: argparse.Namespace) -> None:
    from app.auth import Role, mint_token

    settings = _settings()
    if settings.is_production:
        sys.exit("laurel: refusing to mint tokens in production; use your identity provider")
    role = Role(args.role)
    member_id = None
    if role is Role.MEMBER:
        if not args.member:
            sys.exit("laurel: a member token needs --member EXTERNAL_ID (e.g. demo-0001)")
        member_id = asyncio.run(_member_id(settings, args.member))
    print(
        mint_token(
            settings=settings,
            role=role,
            subject=args.member or f"dev-{role.value}",
            member_id=member_id,
            now=datetime.now(UTC),
            ttl=timedelta(hours=args.hours),
        )
    )


def schema_sdl() -> str:
    from app.api.schema import schema

    return schema.as_str().rstrip() + "\n"


def _write_or_check(path: Path, text: str, *, check: bool, command: str) -> None:
    """Write a file generated from the schema, or (``check``) fail when it differs."""
    if check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            sys.exit(f"{path} is stale: run `{command}` and commit the result")
        print(f"{path} is up to date.")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"Wrote {path}.")


def cmd_schema(args: argparse.Namespace) -> None:
    _write_or_check(Path(args.output), schema_sdl(), check=args.check, command="make schema")


def roles_doc() -> str:
    from app.api.schema import schema
    from app.api.shared.role_matrix import roles_markdown

    return roles_markdown(schema)


def cmd_roles(args: argparse.Namespace) -> None:
    _write_or_check(Path(args.output), roles_doc(), check=args.check, command="laurel roles")


def cmd_documents(args: argparse.Namespace) -> None:
    import json

    from app.api.documents.trusted import DocumentRegistry

    if args.action is not None:
        manifest = None
        if args.action == "register":
            try:
                manifest = json.loads(Path(args.file).read_bytes())
            except (OSError, ValueError) as exc:
                sys.exit(f"laurel: cannot read {args.file} as JSON: {exc}")
        asyncio.run(_registered_documents(_settings(), args, manifest))
        return
    directory = Path(args.dir) if args.dir else _settings().operations_dir
    manifest = DocumentRegistry.load(directory).manifest()
    if not manifest:
        sys.exit(f"laurel: no named operation in {directory}/*.graphql")
    print(json.dumps(manifest, indent=2))


async def _registered_documents(settings: Settings, args: argparse.Namespace, data: object) -> None:
    """register (``data``: the manifest file's JSON) / list / revoke client manifests."""
    import getpass

    from app.api.documents.manifests import read_manifest
    from app.api.schema import schema
    from app.services.documents import manifests as documents
    from app.services.shared.audit import Actor
    from app.services.shared.errors import InvalidInput, NotFound

    actor = Actor(subject=f"cli:{getpass.getuser()}", role="admin")
    now = datetime.now(UTC)
    try:
        if args.action == "register":
            documents.check_labels(client_name=args.client, client_version=args.version)
            manifest = read_manifest(data, schema=schema._schema)
            async with db.connect(settings):
                registration = await documents.register_manifest(
                    client_name=args.client,
                    client_version=args.version,
                    format=manifest.format,
                    documents=manifest.documents,
                    actor=actor,
                    now=now,
                )
            verb = "Already registered" if registration.replayed else "Registered"
            print(
                f"{verb}: {args.client} {args.version}, {len(registration.documents)} "
                f"documents ({manifest.format})."
            )
        elif args.action == "revoke":
            async with db.connect(settings):
                _, docs = await documents.revoke_manifest(
                    client_name=args.client, client_version=args.version, actor=actor, now=now
                )
            print(f"Revoked: {args.client} {args.version} ({len(docs)} documents no longer run).")
        else:
            async with db.connect(settings):
                found = await documents.list_manifests(
                    client_name=args.client, include_revoked=args.all
                )
            for row, docs in found:
                state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
                print(
                    f"{row.client_name:24} {row.client_version:16} {len(docs):5} documents  "
                    f"registered {row.registered_at:%Y-%m-%d %H:%M} by {row.registered_by}  "
                    f"{state}"
                )
                if args.verbose:
                    for doc in docs:
                        print(
                            f"    {doc.document_id}  {doc.operation_type:12} {doc.operation_name}"
                        )
    except documents.ManifestRefused as refused:
        lines = [
            f"  {p.document_id or '-'} {p.operation_name or '-'}: {p.message}"
            for p in refused.problems
        ]
        sys.exit(f"laurel: {refused}\n" + "\n".join(lines))
    except (InvalidInput, NotFound) as error:
        sys.exit(f"laurel: {error}")


class ProgressBar:
    """A plain-text progress bar on stderr, redrawn in place."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(self.WIDTH * share)
        elapsed = time.monotonic() - self.started
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done:,}/{total:,} {elapsed:5.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


async def _rebuild_leaderboard(settings: Settings, code: str, period: str | None) -> None:
    from redis.asyncio import Redis

    from app.models import Leaderboard
    from app.services.leaderboards.boards import board_in_period
    from app.services.leaderboards.index import RebuildBusy, RedisBoardIndex
    from app.services.shared.errors import InvalidInput
    from gamification.leaderboards import Period, period_of, scope_of

    if not settings.redis_url:
        sys.exit("laurel: rebuild-leaderboard needs LAUREL_REDIS_URL (embedded mode has no index)")
    async with db.connect(settings):
        board = await Leaderboard.get_or_none(code=code).select_related("season")
        if board is None:
            sys.exit(f"laurel: no leaderboard with code {code!r}")
        if period is not None and (":" in period or period == "lifetime"):
            # A stored key (day:2026-11-25, season:2), as scripts written before periods
            # were named as people write them pass it.
            key, label = period, period
            try:
                scope_of(board.metric, key)
            except ValueError:
                sys.exit(f"laurel: {key!r} is not a period key")
            ours = (
                key == f"season:{board.season_id}"
                if board.period == Period.SEASON
                else period_of(Period(board.period), key)
            )
            if not ours:
                sys.exit(f"laurel: {key!r} is not a period of {code}")
        else:
            try:
                opened = await board_in_period(
                    board, period=period, now=datetime.now(UTC), zone=settings.zone
                )
            except InvalidInput as error:
                sys.exit(f"laurel: {error.problems[0].message}")
            key, label = opened.view.period_key, opened.period_name
        redis = Redis.from_url(settings.redis_url)
        index = RedisBoardIndex(
            redis,
            prefix=settings.redis_prefix,
            zone=settings.zone,
            retention=timedelta(days=settings.leaderboard_retention_days),
        )
        bar = ProgressBar(f"{code} {label}")
        try:
            count = await index.rebuild(board, key, progress=bar)
        except RebuildBusy:
            sys.exit(f"laurel: {code} {label} is being rebuilt already")
        finally:
            bar.close()
            await redis.aclose()
    print(
        f"Rebuilt {code} for {label}: {count:,} members in {time.monotonic() - bar.started:.1f}s."
    )


def cmd_rebuild_leaderboard(args: argparse.Namespace) -> None:
    asyncio.run(_rebuild_leaderboard(_settings(), args.code, args.period))


async def _jobs(settings: Settings, args: argparse.Namespace) -> None:
    from app.models import JobRun
    from app.services.jobs.schedule import JOBS, SCHEDULE, run_job

    async with db.connect(settings):
        if args.action == "list":
            for scheduled in SCHEDULE:
                at = scheduled.runs_daily_at(settings)
                when = f"daily from {at:%H:%M}" if at else "every minute"
                last = await JobRun.filter(name=scheduled.name).order_by("-id").first()
                state = (
                    f"last {last.slot}: {last.status.value}, attempt {last.attempts}"
                    + (f", {last.result}" if last.result else "")
                    + (f", {last.error}" if last.error else "")
                    if last
                    else "never run"
                )
                print(f"{scheduled.name:24} {when:22} {state}")
                print(f"{'':24} {scheduled.description}")
            return
        job = JOBS.get(args.name or "")
        if job is None:
            sys.exit(f"laurel: no job {args.name!r}; `laurel jobs list` names them")
        # By hand: a slot of its own unless one is named, so it runs even if today's is done.
        slot = args.slot or f"manual:{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"
        started, batches = time.monotonic(), 0

        def progress() -> None:
            nonlocal batches
            batches += 1
            elapsed = time.monotonic() - started
            sys.stderr.write(f"\r{job.name}: {batches:,} batches done, {elapsed:5.1f}s")
            sys.stderr.flush()

        result = await run_job(
            job, settings=settings, clock=lambda: datetime.now(UTC), slot=slot, on_batch=progress
        )
        if batches:
            sys.stderr.write("\n")
        print(
            f"{job.name} {slot}: " + ("already done or running" if result is None else str(result))
        )


def cmd_jobs(args: argparse.Namespace) -> None:
    asyncio.run(_jobs(_settings(), args))


def _cli_actor() -> Actor:
    import getpass

    from app.services.shared.audit import Actor

    return Actor(subject=f"cli:{getpass.getuser()}", role="admin")


async def _members(settings: Settings, args: argparse.Namespace) -> None:
    from app.models import Member
    from app.services.members.exports import member_document, record_direct_export
    from app.services.members.privacy import erase_member
    from app.services.shared.errors import InvalidInput

    async with db.connect(settings):
        member = await Member.get_or_none(external_id=args.external_id)
        if member is None:
            sys.exit(f"laurel: no member has the external id {args.external_id!r}")
        now = datetime.now(UTC)
        if args.action == "export":
            await record_direct_export(member_id=member.id, actor=_cli_actor(), now=now)
            # Written as the chunks come: a large member is never held in memory.
            out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: ASYNC230
            try:
                async for chunk in member_document(member.id, now=now):
                    out.write(chunk)
                out.write("\n")
            finally:
                if out is not sys.stdout:
                    out.close()
            if args.output:
                print(f"Exported member {member.id} to {args.output}.", file=sys.stderr)
            return
        try:
            erasure = await erase_member(
                member_id=member.id, confirm=args.confirm, actor=_cli_actor(), now=now
            )
        except InvalidInput:
            sys.exit("laurel: --confirm must repeat the member's external id exactly")
        print(
            f"Erased member {member.id}: now {erasure.member.external_id}."
            if erasure.changed
            else f"Member {member.id} was erased before; nothing changed."
        )


def cmd_members(args: argparse.Namespace) -> None:
    if args.action == "merge":
        asyncio.run(_merge_members(_settings(), args))
        return
    if args.action == "erase" and not args.confirm:
        sys.exit("laurel: erase needs --confirm EXTERNAL_ID (the same id again)")
    asyncio.run(_members(_settings(), args))


class ImportBar:
    """The progress of an import on stderr: the share of the file read (by bytes, so the
    ETA needs no first pass over it), rows and rows/s."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.started = time.monotonic()
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:>11,} rows {task.fields[rate]:>8,.0f} rows/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self.task = self.bar.add_task(label, total=None, rows=0, rate=0.0)

    async def __call__(self, progress: ImportProgress) -> None:
        # Shown from the first chunk on: a refused file prints its reason alone.
        if not self.bar.live.is_started:
            self.bar.start()
        elapsed = time.monotonic() - self.started
        self.bar.update(
            self.task,
            completed=progress.bytes_read,
            total=progress.total_bytes or None,
            rows=progress.rows,
            rate=progress.rows / elapsed if elapsed > 0 else 0.0,
        )

    def __enter__(self) -> ImportBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar.live.is_started:
            self.bar.stop()


async def _import(settings: Settings, args: argparse.Namespace) -> ImportReport:
    from app.services.activity.events import MAX_BATCH, EventPolicy
    from app.services.activity.imports import import_events, import_members

    path = Path(args.file)
    rejected = Path(args.rejected) if args.rejected else None
    postgres = db.connection_name(settings.database_url) == "postgres"
    in_flight = args.in_flight or (2 if postgres else 1)
    if in_flight > 1 and not postgres:
        sys.exit("laurel: --in-flight above 1 needs PostgreSQL (SQLite has one writer)")
    clock = partial(datetime.now, UTC)
    async with db.connect(settings):
        with ImportBar(f"{args.kind} {path.name}", enabled=not args.no_progress) as bar:
            if args.kind == "members":
                return await import_members(
                    path, clock=clock, zone=settings.zone, rejected_path=rejected, progress=bar
                )
            days = (
                settings.event_backfill_days if args.backfill_days is None else args.backfill_days
            )
            return await import_events(
                path,
                policy=EventPolicy(zone=settings.zone, backfill_window=timedelta(days=days)),
                clock=clock,
                rejected_path=rejected,
                in_flight=in_flight,
                chunk_size=args.chunk_size or MAX_BATCH,
                progress=bar,
            )


# Codes added per transaction by `laurel import coupons`.
COUPON_IMPORT_CHUNK = 10_000


async def _import_coupons(settings: Settings, reward_code: str, path: Path) -> str:
    import getpass

    from app.models import Reward
    from app.services.rewards.coupons import codes_from_csv, import_coupons
    from app.services.shared.audit import Actor
    from app.services.shared.errors import InvalidInput

    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        sys.exit(f"laurel: cannot read {path}: {exc}")
    async with db.connect(settings):
        reward = await Reward.get_or_none(code=reward_code)
        if reward is None:
            sys.exit(f"laurel: no reward with the code {reward_code!r}")
        # The person at the console, as the documents commands name it.
        actor = Actor(subject=f"cli:{getpass.getuser()}", role="admin")
        try:
            codes = codes_from_csv(text, limit=None)
            added = duplicates = 0
            # A transaction (and an audit entry) per chunk: a file of millions of codes
            # neither holds the pool's lock for long nor needs to fit one statement.
            for at in range(0, len(codes), COUPON_IMPORT_CHUNK):
                done = await import_coupons(
                    reward_id=reward.id,
                    codes=codes[at : at + COUPON_IMPORT_CHUNK],
                    actor=actor,
                    now=datetime.now(UTC),
                )
                added, duplicates = added + done.added, duplicates + done.duplicates
        except InvalidInput as refused:
            sys.exit("laurel: " + "\n".join(p.message for p in refused.problems))
    return (
        f"{added} codes added to {reward_code} ({duplicates} already in the pool); "
        f"{done.pool.remaining} of {done.pool.total} left"
    )


def cmd_import(args: argparse.Namespace) -> None:
    from app.services.activity.imports import ImportRefused

    wanted = 2 if args.kind == "coupons" else 1
    if len(args.paths) != wanted:
        usage = "coupons REWARD FILE" if args.kind == "coupons" else f"{args.kind} FILE"
        sys.exit(f"laurel: usage: laurel import {usage}")
    args.file = args.paths[-1]
    if args.kind == "coupons":
        print(asyncio.run(_import_coupons(_settings(), args.paths[0], Path(args.file))))
        return
    try:
        report = asyncio.run(_import(_settings(), args))
    except ImportRefused as refused:
        sys.exit(f"laurel: {refused}")
    except KeyboardInterrupt:
        sys.exit("laurel: import interrupted; run the same command again to resume it")
    # Rejected rows are the report's business, not a failure of the command.
    print(report.summary())


async def _merge_members(settings: Settings, args: argparse.Namespace) -> None:
    import getpass

    from app.models import Member
    from app.services.members.merging import merge_members
    from app.services.shared.audit import Actor
    from app.services.shared.errors import ServiceError

    actor = Actor(subject=f"cli:{getpass.getuser()}", role="admin")
    async with db.connect(settings):
        # By external id as enrolled (not resolved through merges: naming a merged-away
        # member is refused, as it is by id).
        found = {
            m.external_id: m
            for m in await Member.filter(external_id__in=[args.survivor, args.duplicate])
        }
        for external_id in (args.survivor, args.duplicate):
            if external_id not in found:
                sys.exit(f"laurel: no member with external id {external_id!r}")
        survivor, duplicate = found[args.survivor], found[args.duplicate]
        try:
            merge = await merge_members(
                survivor_id=survivor.id,
                duplicate_id=duplicate.id,
                actor=actor,
                now=datetime.now(UTC),
            )
        except ServiceError as error:
            sys.exit(f"laurel: {error}")
    kept = merge.survivor
    if not merge.changed:
        print(f"Already merged: {args.duplicate} resolves to {args.survivor}; nothing changed.")
        return
    print(
        f"Merged {args.duplicate} into {args.survivor}: {duplicate.points_balance:,} points, "
        f"{duplicate.growth:,} growth moved. {args.survivor} now has {kept.points_balance:,} "
        f"points, {kept.lifetime_points:,} lifetime points, {kept.growth:,} growth; "
        f"{args.duplicate} is deactivated and resolves to {args.survivor}."
    )


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _chunk_size(text: str) -> int:
    from app.services.activity.events import MAX_BATCH

    value = int(text)
    if not 1 <= value <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"must be within 1..{MAX_BATCH}")
    return value


def _in_flight(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 8:
        raise argparse.ArgumentTypeError("must be within 1..8")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="laurel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser(
        "demo", help="load the demo programme into an empty database (no-op otherwise)"
    ).set_defaults(func=cmd_demo)
    serve = sub.add_parser("serve", help="migrate, load the demo if empty, and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    token = sub.add_parser("token", help="mint a development token (never in production)")
    token.add_argument("--role", required=True, choices=["member", "marketer", "admin", "service"])
    token.add_argument("--member", help="external id of the member a member token is for")
    token.add_argument("--hours", type=float, default=12)
    token.set_defaults(func=cmd_token)
    schema = sub.add_parser("schema", help="export the GraphQL SDL")
    schema.add_argument("--output", default=str(SCHEMA_PATH))
    schema.add_argument("--check", action="store_true", help="fail if the file is stale")
    schema.set_defaults(func=cmd_schema)
    roles = sub.add_parser(
        "roles", help="write the role matrix (who may call each operation) from the schema"
    )
    roles.add_argument("--output", default=str(ROLES_PATH))
    roles.add_argument("--check", action="store_true", help="fail if the file is stale")
    roles.set_defaults(func=cmd_roles)
    documents = sub.add_parser(
        "documents",
        help="trusted documents: print the operations directory's manifest {sha256: [operation "
        "names]}, or register, list and revoke client manifests",
    )
    documents.add_argument(
        "--dir",
        help="the operations directory (default: LAUREL_OPERATIONS_DIR, or the repository's)",
    )
    documents.set_defaults(func=cmd_documents)
    actions = documents.add_subparsers(dest="action")
    register = actions.add_parser(
        "register",
        help="register a client build's manifest (Apollo's persisted-query manifest or "
        "codegen's persisted-documents.json), each document validated against the schema",
    )
    register.add_argument("--client", required=True, help="the client's name, e.g. member-app")
    register.add_argument("--version", required=True, help="the build's version, e.g. 4.2.0")
    register.add_argument("file", help="the manifest JSON file")
    listing = actions.add_parser("list", help="list the registered client manifests")
    listing.add_argument("--client", help="only this client's")
    listing.add_argument("--all", action="store_true", help="include revoked manifests")
    listing.add_argument("-v", "--verbose", action="store_true", help="list each document")
    revoke = actions.add_parser("revoke", help="revoke a client build's manifest")
    revoke.add_argument("--client", required=True)
    revoke.add_argument("--version", required=True)
    rebuild = sub.add_parser(
        "rebuild-leaderboard", help="recompute a board's Redis index from the database"
    )
    rebuild.add_argument("code", help="the board's code")
    rebuild.add_argument(
        "--period",
        help="the period as people write it: 2026-11-25, 2026-W48, 2026-11, all-time or the "
        "season's code (default: the current one; a stored key such as week:2026-W48 works too)",
    )
    rebuild.set_defaults(func=cmd_rebuild_leaderboard)
    jobs = sub.add_parser("jobs", help="list the scheduled jobs, or run one now")
    jobs.add_argument("action", choices=["list", "run"])
    jobs.add_argument("name", nargs="?", help="the job to run (see `laurel jobs list`)")
    jobs.add_argument("--slot", help="re-run this slot (default: a manual slot of its own)")
    jobs.set_defaults(func=cmd_jobs)
    members = sub.add_parser(
        "members",
        help="operate on members: export everything held about one as JSON, erase its "
        "personal data (irreversible), merge one enrolled twice (docs/api/members.md)",
    )
    member_actions = members.add_subparsers(dest="action", required=True)
    export = member_actions.add_parser(
        "export", help="a member's GDPR export: everything held about it, as one JSON document"
    )
    export.add_argument("external_id", help="the member's external id")
    export.add_argument("-o", "--output", help="write to this file (default: stdout)")
    export.set_defaults(func=cmd_members)
    erase = member_actions.add_parser(
        "erase", help="erase a member's personal data (GDPR; irreversible, audited)"
    )
    erase.add_argument("external_id", help="the member's external id")
    erase.add_argument("--confirm", help="the member's external id again, to confirm the erasure")
    erase.set_defaults(func=cmd_members)
    imports = sub.add_parser(
        "import",
        help="import members or events from a CSV file (docs/import.md): streamed, resumable "
        "(run it again: nothing is credited twice), rejected rows in FILE.rejected.csv; or "
        "the coupon codes of a reward (`import coupons REWARD FILE`: the first column)",
    )
    imports.add_argument("kind", choices=["members", "events", "coupons"])
    imports.add_argument(
        "paths",
        nargs="+",
        metavar="[REWARD] FILE",
        help="the CSV file, with a header line (coupons: the reward's code, then the file)",
    )
    imports.add_argument(
        "--backfill-days",
        type=_non_negative,
        help="events: accept events this many days old for this run (default: "
        "LAUREL_EVENT_BACKFILL_DAYS, 30); an import of history is what lifting it is for",
    )
    imports.add_argument(
        "--in-flight",
        type=_in_flight,
        help="events: chunks recorded at once (default: 2 on PostgreSQL, 1 on SQLite)",
    )
    imports.add_argument(
        "--chunk-size",
        type=_chunk_size,
        help="events: rows per record_events call (default and most: 500, its batch limit)",
    )
    imports.add_argument(
        "--rejected", help="where to write the rejected rows (default: FILE.rejected.csv)"
    )
    imports.add_argument("--no-progress", action="store_true", help="no progress bar")
    imports.set_defaults(func=cmd_import)
    merge = member_actions.add_parser(
        "merge",
        help="merge a member enrolled twice into the other, by external ids (audited; "
        "docs/api/members.md#merging-members): the duplicate's points, history, badges and "
        "scores move to the survivor, its external id resolves to the survivor; idempotent",
    )
    merge.add_argument("survivor", metavar="SURVIVOR", help="external id of the member kept")
    merge.add_argument(
        "duplicate", metavar="DUPLICATE", help="external id of the member merged into it"
    )
    merge.set_defaults(func=cmd_members)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
