"""The local servers of tests, the demo and benchmarks: a free port, the common frame of a server
process (:class:`LocalServer`) and stopping one started in its own process group
(``start_new_session=True``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalServer:
    """A server process on 127.0.0.1 with its data under ``data_dir``; as a context manager it
    is started on entry and stopped on exit. Subclasses say how to start, wait and stop."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_process_group(
    process: subprocess.Popen, first_signal: int = signal.SIGTERM, timeout: float = 30
) -> None:
    """Send ``first_signal`` to the whole group, give it ``timeout`` seconds to exit cleanly,
    then SIGKILL the group. Servers such as ``dagster dev`` and Orthanc start children that
    must stop with them, hence the group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, first_signal)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
