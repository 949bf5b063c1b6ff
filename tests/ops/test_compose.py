"""compose.yaml describes the topology the process tests run, with settings that exist; the
image it runs holds what the app needs at the locked versions, and no development tool."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import msgspec
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from jam.cli import _parser
from jam.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
KNOWN = {PREFIX + f.name.upper() for f in msgspec.structs.fields(Settings)}
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


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


def test_the_web_sends_secure_cookies_and_hsts_as_production_behind_https_must():
    env = {k: resolved(str(v)) for k, v in SERVICES["web"]["environment"].items()}
    assert Settings.from_env({k: v for k, v in env.items() if "${" not in v}).secure_cookies


def test_web_workers_are_probed_for_readiness_and_workers_expose_metrics():
    assert "/ready" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    for name in ("projections", "ranking"):
        port = SERVICES[name]["environment"]["OPENJAM_METRICS_PORT"]
        assert f":{port}/metrics" in " ".join(SERVICES[name]["healthcheck"]["test"])


def pip_installs(dockerfile: str) -> list[list[str]]:
    """The arguments of every `pip install` in the Dockerfile's RUN instructions."""
    lines = dockerfile.replace("\\\n", " ").splitlines()
    installs = []
    for run in (line.removeprefix("RUN ") for line in lines if line.startswith("RUN ")):
        for command in re.split(r"&&|\|\||;", run):
            words = shlex.split(command)
            for i, word in enumerate(words[:-1]):
                if word.rsplit("/", 1)[-1] in ("pip", "pip3") and words[i + 1] == "install":
                    installs.append(words[i + 2 :])
    return installs


def lock_entries(path: Path) -> dict[str, list[str]]:
    """Each pinned package of a lock (`name==version ; marker`) with its sorted hashes."""
    entries = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        if line.strip() and not line.startswith((" ", "#")):
            pin, *hashes = line.split("--hash=")
            entries[pin.strip()] = sorted(h.strip() for h in hashes)
    return entries


def installed_closure(requirements: list[str]) -> set[str]:
    """The packages `requirements` bring in on this interpreter, read from the installed
    packages' metadata (the test environment holds the whole lock)."""
    names: set[str] = set()
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name, extras = canonicalize_name(req.name), frozenset(req.extras)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        names.add(name)
        for text in metadata.requires(name) or []:
            dep = Requirement(text)
            wanted = dep.marker is None or any(
                dep.marker.evaluate({"extra": extra}) for extra in {"", *extras}
            )
            if wanted:
                todo.append(dep)
    return names


LISTS = ("-r", "--requirement", "-c", "--constraint")


def test_the_image_installs_the_runtime_lock_and_nothing_past_it():
    installs = pip_installs(DOCKERFILE)
    files = [args[i + 1] for args in installs for i, a in enumerate(args[:-1]) if a in LISTS]
    # requirements.lock also pins the dev extra's tools (pytest, playwright, ruff...).
    assert files == ["requirements-runtime.lock"]
    for args in installs:
        assert "--require-hashes" in args or "--no-deps" in args, args
        assert not any("[" in a for a in args), args  # no extra, the dev one least of all
        assert not {"-e", "--editable"} & set(args), args


def test_the_runtime_lock_pins_what_the_app_needs_as_requirements_lock_does_and_no_dev_tool():
    full = lock_entries(ROOT / "requirements.lock")
    runtime = lock_entries(ROOT / "requirements-runtime.lock")
    # The same versions, markers and hashes as the lock the tests run on.
    assert {pin: full.get(pin) for pin in runtime} == runtime
    locked = {canonicalize_name(Requirement(pin).name) for pin in runtime}
    project = PYPROJECT["project"]
    needed = installed_closure(
        project["dependencies"]
        + project["optional-dependencies"]["embeddings"]
        + PYPROJECT["build-system"]["requires"]  # the image builds the project without isolation
    )
    dev_only = installed_closure(project["optional-dependencies"]["dev"]) - needed
    assert {"pytest", "playwright", "schemathesis", "ruff", "hypothesis"} <= dev_only
    assert needed <= locked, f"missing from requirements-runtime.lock: {needed - locked}"
    assert not locked & dev_only, f"development tools in the image: {locked & dev_only}"


PACKAGES = ("domain", "jam", "projections", "ranking", "ui")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.mark.slow
def test_the_installed_project_carries_its_templates_and_static_files(tmp_path):
    """The image installs the project (not its source folders): pages need their files."""
    source = tmp_path / "source"  # a copy: building leaves its folders beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=IGNORED)
    wheels = tmp_path / "wheels"
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "--wheel-dir", str(wheels)]
    built = subprocess.run(
        [sys.executable, "-m", "pip", *build, str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("openjam-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    data = {
        path.relative_to(source).as_posix()
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file() and path.suffix != ".py"
    }
    assert {"ui/templates/base.html", "ui/static/live.js"} <= data
    assert data <= packaged, f"left out of the installed project: {sorted(data - packaged)}"
