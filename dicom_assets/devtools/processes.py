"""Stopping a server started in its own process group (``start_new_session=True``)."""

from __future__ import annotations

import os
import signal
import subprocess


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
