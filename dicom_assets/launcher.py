"""A run launcher whose run workers are forked from a warm process: no import cost per run.

Dagster's ``DefaultRunLauncher`` asks the code server to start each run, and the code server
*spawns* a new Python process that imports Dagster and the code location again: about 4 s on
the project's 2-core machine, the largest part of store → queryable (docs/performance.md). A
near-real-time sync starts a run every few seconds, each for a handful of instances.

``WarmProcessRunLauncher`` keeps one multiprocessing *forkserver* that has imported Dagster and
the code location once (``preload``); each run is a fresh process forked from it, which runs
the run exactly as ``dagster api execute_run`` does (``_execute_run_command_body``). Everything
else stays Dagster's: runs are queued by the run coordinator (one per window at a time), appear
in the UI with their events and logs, are monitored (the worker's pid is a run tag; a dead
worker fails its run), can be terminated, retried and backfilled.

Configured in the local ``dagster.yaml`` (``make demo``, ``dagster dev``, ``make
bench-latency``): the daemon that launches runs then needs the code location importable, which
holds for the local module workspace. The deployed topology keeps ``DefaultRunLauncher`` (the
daemon there has no user code; Kubernetes launches a pod per run).

When the code changes (``dagster dev`` reloads), the forkserver is started anew, so a run never
executes stale code: the launcher compares the modification times of the package's files at
each launch (~100 ``stat`` calls).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any

from dagster import Field, Noneable
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._serdes import ConfigurableClass, ConfigurableClassData

PID_TAG = "dicom_assets/run_worker_pid"
PACKAGE = Path(__file__).resolve().parent


def execute_run_in_fork(run_id: str, instance_ref: Any) -> None:
    """The body of a run worker, in a process forked from the warm one."""
    from dagster import DagsterInstance
    from dagster._cli.api import _execute_run_command_body

    with DagsterInstance.from_ref(instance_ref) as instance:
        _execute_run_command_body(
            run_id, instance, write_stream_fn=lambda event: None, set_exit_code_on_failure=False
        )


def code_fingerprint(root: Path = PACKAGE) -> tuple[tuple[str, int], ...]:
    """Modification times of the package's Python files: changes when the code changes."""
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*.py")))


class WarmProcessRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in a process forked from a forkserver that preloaded the code."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, preload: list | None = None):
        self._inst_data = inst_data
        self._preload = list(preload or ["dicom_assets.warm_imports"]) + [__name__]
        self._lock = threading.Lock()
        self._context: Any = None
        self._fingerprint: tuple | None = None
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {"preload": Field(Noneable([str]), is_required=False, default_value=None)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict):
        return cls(inst_data=inst_data, **config_value)

    def _warm_context(self) -> Any:
        """The forkserver context; a new forkserver when the code changed since it started."""
        with self._lock:
            fingerprint = code_fingerprint()
            if self._context is not None and fingerprint != self._fingerprint:
                from multiprocessing import forkserver

                forkserver._forkserver._stop()  # the next Process starts a new one
            if self._context is None or fingerprint != self._fingerprint:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(self._preload)
                self._context, self._fingerprint = context, fingerprint
            return self._context

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        process = self._warm_context().Process(
            target=execute_run_in_fork,
            args=(run.run_id, self._instance.get_ref()),
            name=f"dagster-run-{run.run_id[:8]}",
        )
        process.start()
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(process.pid)})

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        pid = run.tags.get(PID_TAG)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, "no run worker pid recorded")
        if _alive(int(pid)):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker (pid {pid}) is gone")

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        # The worker's cancellation thread sees CANCELING and interrupts the run cleanly.
        self._instance.report_run_canceling(run)
        pid = run.tags.get(PID_TAG)
        if pid and _alive(int(pid)):
            os.kill(int(pid), signal.SIGINT)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child of this process that nobody reaped yet is not alive
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True  # not our child (forked by the forkserver): kill(0) is the answer
