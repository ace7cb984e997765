"""docker-compose.yml and the Dockerfile agree with the code they run.

Docker is not needed: the files are parsed, and every command they give Laurel's image is
resolved against the project's own entry points, so a renamed module or subcommand fails
here instead of in a crash-looping container.
"""

from __future__ import annotations

import argparse
import importlib
import json
import posixpath
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from arq.cli import cli as arq_cli
from arq.utils import import_string
from uvicorn.main import main as uvicorn_cli

from app.cli import build_parser
from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "laurel:latest"
FAKE_JWT_SECRET = "x" * 40

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# Services running Laurel's image; postgres and redis run their vendors' images.
LAUREL_SERVICES = {
    name: service
    for name, service in SERVICES.items()
    if "build" in service or service.get("image") == IMAGE
}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = (line.strip() for line in text.splitlines())
    return [
        (keyword.upper(), rest.strip())
        for keyword, _, rest in (line.partition(" ") for line in lines)
        if keyword and not keyword.startswith("#")
    ]


def argv(command: str | list[str]) -> list[str]:
    # Compose splits a string command shell-style, without running a shell.
    return shlex.split(command) if isinstance(command, str) else list(command)


def healthcheck_argv(service: Mapping[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str) or test[0] == "CMD-SHELL":
        return shlex.split(test if isinstance(test, str) else test[1])
    assert test[0] == "CMD", f"unexpected healthcheck form {test[0]!r}"
    return list(test[1:])


def click_params(command: click.Command, args: list[str]) -> dict[str, Any]:
    """Parse arguments the way the real CLI would, without running it."""
    return command.make_context(command.name or "", list(args)).params


def check_laurel(args: list[str]) -> None:
    assert "laurel" in PYPROJECT["project"]["scripts"], "pyproject installs no `laurel` script"
    parser = build_parser()
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert args and args[0] in subparsers.choices, (
        f"`laurel {shlex.join(args)}`: subcommands are {sorted(subparsers.choices)}"
    )


def check_uvicorn(args: list[str]) -> None:
    module, _, attribute = click_params(uvicorn_cli, args)["app"].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute, None)), (
        f"{module}:{attribute} is not a callable uvicorn can serve"
    )


def check_arq(args: list[str]) -> None:
    worker_settings = import_string(click_params(arq_cli, args)["worker_settings"])
    assert hasattr(worker_settings, "functions"), f"{worker_settings!r} is no arq WorkerSettings"


def check_python(args: list[str]) -> None:
    assert args[0] == "-c", f"only `python -c CODE` is checked, got {args}"
    compile(args[1], "<healthcheck>", "exec")


ENTRY_POINTS: dict[str, Callable[[list[str]], None]] = {
    "laurel": check_laurel,
    "uvicorn": check_uvicorn,
    "arq": check_arq,
    "python": check_python,
}


def check_entry_point(command: list[str]) -> None:
    program, *args = command
    if program not in ENTRY_POINTS:
        pytest.fail(f"`{program}` is not an entry point of Laurel's image")
    ENTRY_POINTS[program](args)


def commands() -> dict[str, list[str]]:
    (cmd,) = [rest for keyword, rest in dockerfile_instructions() if keyword == "CMD"]
    found = {"Dockerfile CMD": json.loads(cmd)}
    for name, service in LAUREL_SERVICES.items():
        if "command" in service:
            found[f"{name} command"] = argv(service["command"])
        if "healthcheck" in service:
            found[f"{name} healthcheck"] = healthcheck_argv(service)
    return found


COMMANDS = commands()


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_given_to_the_image_is_a_real_entry_point(command: list[str]) -> None:
    check_entry_point(command)


def test_an_unknown_program_is_not_taken_for_an_entry_point() -> None:
    with pytest.raises(pytest.fail.Exception, match="not an entry point"):
        check_entry_point(["gunicorn", "app.main:app"])
    with pytest.raises(AssertionError, match="subcommands are"):
        check_entry_point(["laurel", "migrate-all"])


def test_the_api_healthcheck_probes_a_route_on_the_port_uvicorn_serves() -> None:
    api = SERVICES["api"]
    url = re.search(r"https?://[^'\"]+", healthcheck_argv(api)[-1])
    assert url is not None, "the api healthcheck requests no URL"
    probe = urlsplit(url[0])
    settings = Settings(
        database_url="sqlite://:memory:", redis_url=None, jwt_secret=FAKE_JWT_SECRET
    )
    paths = {route.path for route in create_app(settings).routes}  # type: ignore[attr-defined]
    port = click_params(uvicorn_cli, argv(api["command"])[1:])["port"]

    assert probe.path == "/readyz" and probe.path in paths
    assert probe.port == port
    assert f"{port}:{port}" in api["ports"]


def test_the_app_starts_only_after_healthy_backing_services_and_finished_migrations() -> None:
    # Given the three services that run Laurel's code
    migrate, api, worker = SERVICES["migrate"], SERVICES["api"], SERVICES["worker"]

    # Then migrations wait for PostgreSQL, and the API and worker for everything
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for service in (api, worker):
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    # and a dependency can only be waited on if it can report what is awaited
    for service in SERVICES.values():
        for target, dependency in service.get("depends_on", {}).items():
            if dependency["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{target} has no healthcheck"
            if dependency["condition"] == "service_completed_successfully":
                assert SERVICES[target]["restart"] == "no", f"{target} would be restarted"


def test_the_worker_is_supervised_and_the_backing_services_are_durable() -> None:
    # arq exits when Redis goes away; the restart policy brings it back.
    assert SERVICES["worker"]["restart"] == "unless-stopped"
    redis_args = argv(SERVICES["redis"]["command"])
    assert "--appendonly" in redis_args
    assert redis_args[redis_args.index("--appendonly") + 1] == "yes"

    postgres = SERVICES["postgres"]
    env = postgres["environment"]
    pg_isready = healthcheck_argv(postgres)
    assert pg_isready[0] == "pg_isready"
    assert pg_isready[1:] == ["-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"]]


VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<operator>:[?-])(?P<argument>[^}]*))?\}")


def interpolate(value: str, host: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, for the host env given."""

    def substitute(match: re.Match[str]) -> str:
        if host.get(match["name"]):
            return host[match["name"]]
        if match["operator"] == ":?":
            raise LookupError(f"{match['name']}: {match['argument']}")
        return match["argument"] if match["operator"] == ":-" else ""

    return VARIABLE.sub(substitute, value)


def service_settings(service: Mapping[str, Any], host: Mapping[str, str]) -> Settings:
    environment = {
        key: interpolate(str(value), host) for key, value in service.get("environment", {}).items()
    }
    return Settings(**{key.removeprefix("LAUREL_").lower(): v for key, v in environment.items()})


@pytest.mark.parametrize("name", LAUREL_SERVICES)
def test_each_service_gets_a_valid_production_configuration(name: str) -> None:
    # Given only the secret on the host
    host = {"LAUREL_JWT_SECRET": FAKE_JWT_SECRET}

    # When the service's environment is read as Laurel reads it
    settings = service_settings(LAUREL_SERVICES[name], host)

    # Then it is production against PostgreSQL and Redis, in the default time zone
    assert settings.is_production
    assert settings.database_url.startswith("postgres://")
    assert settings.redis_url
    assert settings.jwt_secret == FAKE_JWT_SECRET
    assert settings.timezone == "Asia/Shanghai"


def test_compose_refuses_to_start_without_a_jwt_secret() -> None:
    with pytest.raises(LookupError, match="LAUREL_JWT_SECRET"):
        service_settings(SERVICES["api"], host={})


def test_the_image_installs_the_project_and_runs_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    copied = {
        Path(source).as_posix()
        for keyword, rest in instructions
        if keyword == "COPY"
        for source in rest.split()[:-1]
    }
    packages = {
        pattern.rstrip("*").split(".")[0]
        for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    install = next(
        i
        for i, (keyword, rest) in enumerate(instructions)
        if keyword == "RUN" and re.search(r"\bpip install \.(\s|$)", rest)
    )
    users = [rest for keyword, rest in instructions if keyword == "USER"]

    # Every installed package and the readme pyproject names are in the build context
    assert packages | {"pyproject.toml", PYPROJECT["project"]["readme"]} <= copied
    # pip runs as root; the last USER, which the container runs as, is not root
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert keywords.index("USER") > install


def test_the_image_carries_the_client_operations_for_trusted_documents() -> None:
    # Given the image's working directory, copies and environment
    instructions = dockerfile_instructions()
    (workdir,) = [rest for keyword, rest in instructions if keyword == "WORKDIR"]
    destinations = {
        source: destination
        for keyword, rest in instructions
        if keyword == "COPY"
        for *sources, destination in [rest.split()]
        for source in sources
    }
    environment = dict(
        assignment.split("=", 1)
        for keyword, rest in instructions
        if keyword == "ENV"
        for assignment in rest.split()
    )

    # Then LAUREL_OPERATIONS_DIR names the copy of graphql/operations: the installed app
    # sits in site-packages, where the repository-relative default finds nothing
    copied_to = posixpath.normpath(posixpath.join(workdir, destinations["graphql/operations"]))
    assert environment["LAUREL_OPERATIONS_DIR"] == copied_to
    assert any((ROOT / "graphql" / "operations").glob("*.graphql"))
