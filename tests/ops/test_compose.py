"""compose.yaml describes the topology the process tests run, with settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import yaml

from jam.cli import _parser
from jam.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
KNOWN = {PREFIX + f.name.upper() for f in msgspec.structs.fields(Settings)}


def resolved(value: str) -> str:
    """A compose value with `${VAR:-default}` replaced by its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_every_part_of_the_topology_is_there_with_a_health_check():
    assert set(SERVICES) == {"postgres", "redis", "web", "projections", "ranking"}
    assert all("healthcheck" in service for service in SERVICES.values())


def test_the_app_services_run_jam_commands_that_exist():
    parser = _parser()
    for name in ("web", "projections", "ranking"):
        command = [resolved(part) for part in SERVICES[name]["command"]]
        assert command[0] == "jam"
        parser.parse_args(command[1:])  # exits on an unknown subcommand or option


def test_the_app_services_set_only_settings_that_exist_and_that_parse():
    for name in ("web", "projections", "ranking"):
        env = SERVICES[name]["environment"]
        assert set(env) <= KNOWN, f"{name}: unknown settings {set(env) - KNOWN}"
        values = {k: resolved(str(v)) for k, v in env.items() if "${" not in resolved(str(v))}
        settings = Settings.from_env(values)
        assert settings.external_projections
        assert settings.log_format == "json"


def test_web_workers_are_probed_for_readiness_and_workers_expose_metrics():
    assert "/ready" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    for name in ("projections", "ranking"):
        port = SERVICES[name]["environment"]["OPENJAM_METRICS_PORT"]
        assert f":{port}/metrics" in " ".join(SERVICES[name]["healthcheck"]["test"])
