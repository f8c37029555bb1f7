"""The deployed Dagster topology as local processes, for the deployed-topology test.

The same processes as a deployment (code location server, dagster-webserver, dagster-daemon)
run from this project's virtualenv with the production instance file deploy/dagster.yaml
(in a temporary DAGSTER_HOME, storage in a fresh PostgreSQL database) and the gRPC workspace
deploy/workspace.yaml. Each process runs in its own session (process group) so stopping it
also stops the run workers it started; everything binds 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import requests

from dicom_assets.devtools.processes import free_port, stop_process_group
from dicom_assets_tests.deploy.deployed_files import INSTANCE_YAML, WORKSPACE_YAML

T = TypeVar("T")
VENV_BIN = Path(sys.executable).parent


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Polls ``probe`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except AssertionError:
            raise  # a definite failure (e.g. the process exited): no point waiting
        except Exception as error:  # noqa: BLE001 - servers refuse connections while starting
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout} s (last error: {last_error!r})")


# Processes started from a shell's background job inherit an ignored SIGINT/SIGTERM; this
# prefix restores both before exec'ing the server, so it stops on the signals a container
# runtime sends (SIGTERM), as it would in a deployment.
WITH_DEFAULT_STOP_SIGNALS = [
    sys.executable,
    "-c",
    (
        "import os, signal, sys\n"
        "for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)\n"
        "os.execv(sys.argv[1], sys.argv[1:])"
    ),
]


@dataclass
class ManagedProcess:
    """One long-running command, logging to a file, stopped with its whole process group."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    log_path: Path
    cwd: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*WITH_DEFAULT_STOP_SIGNALS, *self.argv],
                env=dict(self.env),
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.process is None:
            return
        stop_process_group(self.process, timeout=timeout)
        # Run workers started by the process share its group and may outlive its exit.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class DeployedTopology:
    """Code location server + webserver + daemon sharing one PostgreSQL-backed instance."""

    workdir: Path
    database: str
    app_env: Mapping[str, str]
    grpc_port: int = field(default_factory=free_port)
    webserver_port: int = field(default_factory=free_port)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # free_port() closes its probe socket, so two calls can return the same port.
        while self.webserver_port == self.grpc_port:
            self.webserver_port = free_port()

    @property
    def dagster_home(self) -> Path:
        return self.workdir / "dagster_home"

    @property
    def webserver_url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.app_env,
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_USER": "postgres",
            # This machine's PostgreSQL trusts loopback connections; the value is unused.
            "DAGSTER_PG_PASSWORD": "trust-auth-unused",
            "DAGSTER_PG_DB": self.database,
            "DAGSTER_MAX_CONCURRENT_RUNS": "2",
            "DAGSTER_GRPC_HOST": "127.0.0.1",
            "DAGSTER_GRPC_PORT": str(self.grpc_port),
        }

    def _process(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.env(), self.workdir / f"{name}.log", self.workdir)
        self.processes[name] = process
        process.start()
        return process

    def start(self) -> None:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copy(INSTANCE_YAML, self.dagster_home / "dagster.yaml")
        self._process(
            "code-location",
            [str(VENV_BIN / "dagster"), "code-server", "start",
             "-m", "dicom_assets.definitions", "-h", "127.0.0.1", "-p", str(self.grpc_port),
             "--location-name", "dicom_assets"],
        )  # fmt: skip
        wait_for("code location serving", self._code_location_serving, timeout=120)
        self._process(
            "webserver",
            [str(VENV_BIN / "dagster-webserver"), "-w", str(WORKSPACE_YAML),
             "-h", "127.0.0.1", "-p", str(self.webserver_port)],
        )  # fmt: skip
        wait_for("webserver answering", self._webserver_answering, timeout=120)
        self.start_daemon()

    def start_daemon(self) -> None:
        self._process(
            "daemon", [str(VENV_BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE_YAML)]
        )

    def stop_daemon(self) -> None:
        self.processes.pop("daemon").stop()

    def stop(self) -> None:
        for name in ("daemon", "webserver", "code-location"):
            if name in self.processes:
                self.processes.pop(name).stop()

    def _code_location_serving(self) -> bool:
        self._check_alive("code-location")
        # A plain connect first: the gRPC client prints every refused attempt.
        with socket.create_connection(("127.0.0.1", self.grpc_port), timeout=2):
            pass
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=self.grpc_port, host="127.0.0.1")
        return client.health_check_query() == "SERVING"

    def _webserver_answering(self) -> bool:
        self._check_alive("webserver")
        return requests.get(f"{self.webserver_url}/server_info", timeout=2).ok

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if not process.running():
            raise AssertionError(f"{name} exited:\n{process.log_tail()}")

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        response = requests.post(
            f"{self.webserver_url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log_tail()}" for p in self.processes.values())


# ---- what the deployment wrote --------------------------------------------------------


def lake_rows(lake: Path) -> list[tuple[int, str, str, datetime]]:
    """(_sequence, SOPInstanceUID, _action, _timestamp) of every row of the Delta table."""
    from deltalake import DeltaTable

    if not (lake / "result" / "Dicom" / "_delta_log").exists():
        return []
    columns = ["_sequence", "SOPInstanceUID", "_action", "_timestamp"]
    table = DeltaTable(str(lake / "result" / "Dicom")).to_pyarrow_table(columns=columns)
    return list(zip(*(table[name].to_pylist() for name in columns)))


def view_counts(warehouse: Path, scratch: Path) -> tuple[int, int]:
    """Rows of dicom.instances and dicom.current_instances.

    Read from a copy: opening the file itself would hold a lock the next run needs.
    """
    copy = scratch / f"read-{uuid.uuid4().hex}.duckdb"
    shutil.copy(warehouse, copy)
    try:
        with duckdb.connect(str(copy), read_only=True) as connection:
            (instances,) = connection.execute("SELECT count(*) FROM dicom.instances").fetchone()
            (current,) = connection.execute(
                "SELECT count(*) FROM dicom.current_instances"
            ).fetchone()
        return instances, current
    finally:
        copy.unlink()
