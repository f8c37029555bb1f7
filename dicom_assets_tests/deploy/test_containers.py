"""Offline checks of the container image recipe and the local Docker Compose stack.

There is no Docker daemon here, so the Dockerfile is read as text (its instructions parsed
line by line) and the compose file as YAML; both are cross-checked against the files they
copy or mount and against the environment the production Dagster instance reads.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from dicom_assets_tests.deploy.deployed_files import (
    COMPOSE_FILE,
    DOCKERFILE,
    INSTANCE_YAML,
    REPO_ROOT,
    WORKSPACE_YAML,
    dagster_project_settings,
    env_vars_read_by,
    load_yaml,
)


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    lines, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_dependencies_come_from_the_lock_file():
    runs = [args for op, args in _instructions() if op == "RUN" and "uv sync" in args]
    assert runs, "the image must be built with uv sync"
    for args in runs:
        assert "--frozen" in args and "--no-dev" in args


def test_small_multi_stage_image_without_build_tools_at_runtime():
    froms = [args for op, args in _instructions() if op == "FROM"]
    assert len(froms) >= 3  # uv binary, build stage, runtime stage
    final = _final_stage()
    assert "slim" in final[0][1] or "PYTHON_IMAGE" in final[0][1]
    # Only the built virtualenv and the instance files reach the runtime stage.
    copies = [args for op, args in final if op == "COPY"]
    assert any("--from=build" in c and "/app/.venv" in c for c in copies)
    assert not any(op == "RUN" and "uv " in args for op, args in final)


def test_runtime_user_is_not_root():
    users = [args for op, args in _final_stage() if op == "USER"]
    assert users, "the runtime stage must switch to an unprivileged user"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    created = [args for op, args in _final_stage() if op == "RUN" and "useradd" in args]
    assert created and re.search(rf"--uid {user}\b", created[0])


def test_copied_sources_exist():
    for op, args in _instructions():
        if op != "COPY" or "--from=" in args:
            continue
        sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
        for source in sources:
            assert (REPO_ROOT / source).exists(), source


def test_command_serves_the_definitions_over_grpc_on_the_env_port():
    final = _final_stage()
    assert not any(op == "ENTRYPOINT" for op, _ in final), (
        "Helm and run launchers pass whole commands"
    )
    (cmd,) = [args for op, args in final if op == "CMD"]
    command = " ".join(json.loads(cmd))  # exec form: a JSON list of strings
    assert "dagster code-server start" in command
    assert f"-m {dagster_project_settings()['module_name']}" in command
    assert "-h 0.0.0.0" in command
    assert re.search(r"-p \"?\$\{?DAGSTER_GRPC_PORT\}?", command)
    env_lines = " ".join(args for op, args in final if op == "ENV")
    assert "DAGSTER_GRPC_PORT=" in env_lines
    assert "PATH=/app/.venv/bin" in env_lines


def test_instance_files_land_in_dagster_home():
    final = _final_stage()
    env_lines = " ".join(args for op, args in final if op == "ENV")
    home = re.search(r"DAGSTER_HOME=(\S+)", env_lines).group(1)
    copies = " ".join(args for op, args in final if op == "COPY")
    assert re.search(rf"deploy/dagster\.yaml deploy/workspace\.yaml {re.escape(home)}/?", copies)


# ---- docker-compose.yml ------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(env) if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_compose_runs_the_whole_topology(compose):
    services = compose["services"]
    for name in ("postgres", "orthanc", "azurite", "code-location", "webserver", "daemon"):
        assert name in services
    assert "dagster-webserver" in services["webserver"]["command"]
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    assert services["code-location"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_compose_publishes_ports_on_loopback_only(compose):
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published
    assert all(str(p).startswith("127.0.0.1:") for p in published)


def test_compose_dagster_services_get_what_the_instance_reads(compose):
    services = compose["services"]
    instance_env, workspace_env = env_vars_read_by(INSTANCE_YAML), env_vars_read_by(WORKSPACE_YAML)
    for name in ("code-location", "webserver", "daemon"):
        assert instance_env <= set(_environment(services[name])), name
    for name in ("webserver", "daemon"):
        env = _environment(services[name])
        assert workspace_env <= set(env)
        assert env["DAGSTER_GRPC_HOST"] == "code-location"
        # The workspace file the command loads is the one the image copies.
        assert "/opt/dagster/dagster_home/workspace.yaml" in services[name]["command"]
    # The instance database is the postgres service's database.
    pg = _environment(services["postgres"])
    env = _environment(services["code-location"])
    assert env["DAGSTER_PG_HOST"] == "postgres"
    assert (env["DAGSTER_PG_USER"], env["DAGSTER_PG_DB"]) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_DB"],
    )
    assert env["DAGSTER_PG_PASSWORD"] == pg["POSTGRES_PASSWORD"]


def test_compose_code_location_reads_orthanc_and_writes_azurite(compose):
    env = _environment(compose["services"]["code-location"])
    assert env["DICOM_SERVER_KIND"] == "orthanc"
    assert env["DICOM_SERVER_URL"].startswith("http://orthanc:8042/")
    assert env["DICOM_LAKE_URL"].startswith("abfs://dicom")
    assert "BlobEndpoint=http://azurite:10000/" in env["AZURE_STORAGE_CONNECTION_STRING"]
    health = compose["services"]["code-location"]["healthcheck"]["test"]
    assert health[health.index("-p") + 1] == env["DAGSTER_GRPC_PORT"]
