"""Settings, read from the environment (prefix ``LAUREL_``) in this one place."""

from __future__ import annotations

import secrets
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite://var/laurel.sqlite3"
# The client operations in the repository. An installed package (the Docker image) has no
# repository around it: the image sets LAUREL_OPERATIONS_DIR to its copy instead.
DEFAULT_OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "graphql" / "operations"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _development_secret(path: Path) -> str:
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    if len(secret) < 32:
        secret = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secret + "\n")
        path.chmod(0o600)
    return secret


class Settings(BaseSettings):
    """Everything Laurel can be configured with; docs/configuration.md lists every one
    (tests/test_configuration_docs.py keeps the two in step)."""

    model_config = SettingsConfigDict(env_prefix="LAUREL_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    # Unset means embedded mode: no Redis, jobs run in-process.
    redis_url: str | None = None
    # Prepended to every Redis key and channel Laurel uses: environments (or test runs)
    # can share one Redis without hearing each other.
    redis_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "laurel:"
    jwt_secret: str | None = Field(default=None, repr=False)
    # HS256 signs and checks tokens with jwt_secret; RS256 checks them with a public key
    # (PEM) of the identity provider that issues them.
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key: str | None = None
    jwt_issuer: str = "laurel"
    jwt_audience: str = "laurel-api"
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # Load the demo programme on start when the database is empty (development only).
    load_demo: bool = True
    # Largest page a client may ask for on any connection field.
    max_page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    # Bounds of a single manual points award.
    max_award_points: Annotated[int, Field(ge=1)] = 1_000_000
    # A published ladder version takes effect no sooner than this many days later, so
    # that members are told in advance.
    ladder_notice_days: Annotated[int, Field(ge=0, le=365)] = 14
    # Tier evaluations run at local midnight on this day of every month (29-31: the last
    # day of shorter months).
    evaluation_day_of_month: Annotated[int, Field(ge=1, le=31)] = 1
    # Members below retention are warned this many days before an evaluation (0: never).
    evaluation_warning_days: Annotated[int, Field(ge=0, le=27)] = 7
    # Demotion waits this many days after the evaluation date.
    evaluation_grace_days: Annotated[int, Field(ge=0, le=27)] = 0
    # The local time the daily evaluation job runs (warnings, then demotions when due).
    evaluation_time: time = time(0, 30)
    # Benefits of the tier a member drops from stay usable this many days (0: end at once).
    demoted_benefits_keep_days: Annotated[int, Field(ge=0, le=365)] = 0
    # May a reversal take a balance below zero (points already spent)? Otherwise it takes
    # what is there and records the rest as not recovered.
    allow_points_debt: bool = False
    # How long after a redemption a cancellation refunds it, for rewards that set no window
    # of their own (0: not cancellable).
    redemption_cancel_window_hours: Annotated[int, Field(ge=0, le=24 * 366)] = 24
    # How old a reported event may be (back-fill of late reports).
    event_backfill_days: Annotated[int, Field(ge=0, le=3650)] = 30
    # Relay committed changes (outbox rows) to live updates from the API process. Every
    # node may: one relays at a time (a PostgreSQL advisory lock); turn it off on nodes
    # that should only serve.
    relay_outbox: bool = True
    # How often the relay looks for rows other processes committed (its own it sees at once).
    outbox_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # Live updates (subscriptions): open subscriptions allowed per WebSocket, and how long
    # a socket may stay open without its connection_init (then it is closed).
    max_subscriptions_per_connection: Annotated[int, Field(ge=1, le=100)] = 5
    websocket_init_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    # Leaderboard index (Redis): how long a finished period's board stays in Redis after the
    # period ends (then reads and rebuilds go to the database), and how long a read waits
    # for Redis before it answers from the database instead.
    leaderboard_retention_days: Annotated[int, Field(ge=1, le=3650)] = 35
    leaderboard_read_timeout_seconds: Annotated[float, Field(gt=0, le=5)] = 0.1
    # Points expire this many days after they were credited, first in first out (unset:
    # never).
    points_expire_after_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    # How long a birthday gift stays usable, from the local birthday on.
    birthday_gift_days: Annotated[int, Field(ge=1, le=366)] = 30
    # Read notifications (and relayed outbox rows) older than this are deleted nightly.
    notification_retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    # Finished job runs older than this are folded into per-job tallies and deleted
    # nightly (the metrics keep counting them); a minutely job writes 1,440 runs a day.
    job_run_retention_days: Annotated[int, Field(ge=7, le=3650)] = 7
    # Embedded mode (no Redis): run the job schedule inside the API process.
    run_jobs_in_process: bool = True
    # Run only the documents of operations_dir (persisted queries); refuse any other.
    trusted_documents: bool = False
    # The client operations, served by hash whether or not trusted_documents is on.
    operations_dir: Path = DEFAULT_OPERATIONS_DIR
    # How often a process reads the registry's version of client manifests (registered and
    # revoked by other processes): a revocation elsewhere is obeyed within this delay.
    document_refresh_seconds: Annotated[float, Field(ge=0, le=3600)] = 1.0
    # Webhook endpoints may point at private, loopback and link-local addresses (off: such
    # URLs are refused, so webhooks cannot be aimed at internal services).
    webhooks_allow_private: bool = False
    # An endpoint failing for longer than this many seconds (no 2xx since its first failure)
    # is disabled and the admins told through the audit log.
    webhooks_disable_after: Annotated[int, Field(ge=60, le=30 * 86400)] = 3 * 86400
    # How long one webhook POST may take before it counts as failed.
    webhooks_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 5.0

    # The web pages (/console, /portal): the key that signs their session cookies (unset:
    # LAUREL_JWT_SECRET's; with RS256 and no secret the pages refuse to sign anyone in),
    # and how many idle minutes end a session.
    session_secret: str | None = Field(default=None, repr=False)
    session_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30

    # Where development keeps its generated JWT secret (git-ignored).
    dev_secret_file: Path = Path("var/dev-jwt-secret")
    # True when no secret was configured and the development one is used.
    _jwt_secret_generated: bool = PrivateAttr(default=False)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"sqlite", "postgres", "asyncpg"}:
            raise ValueError(
                f"unsupported database scheme {scheme!r}: use sqlite://PATH or postgres://..."
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _blank_redis_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _rs256_needs_a_key(self) -> Settings:
        if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
            raise ValueError("LAUREL_JWT_PUBLIC_KEY (PEM) is required with RS256")
        return self

    @model_validator(mode="after")
    def _jwt_secret_present(self) -> Settings:
        if self.jwt_secret:
            if self.env is Environment.PRODUCTION and len(self.jwt_secret) < 32:
                raise ValueError("LAUREL_JWT_SECRET must be at least 32 characters in production")
            return self
        if self.env is Environment.PRODUCTION and self.jwt_algorithm == "HS256":
            raise ValueError("LAUREL_JWT_SECRET is required when LAUREL_ENV=production")
        # Development: one generated secret kept in var/, so that the server and
        # `laurel token` (another process) agree on it. Frozen model: set through
        # object.__setattr__ during validation only.
        object.__setattr__(self, "jwt_secret", _development_secret(self.dev_secret_file))
        self._jwt_secret_generated = True
        return self

    @property
    def jwt_secret_generated(self) -> bool:
        return self._jwt_secret_generated

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: jobs run inside the API process."""
        return self.redis_url is None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
