"""Start, stop and restart a local Azurite Blob endpoint (npm package ``azurite``), for tests and
the lake benchmark. The Data Lake ``dfs`` API is not served by Azurite: clients use Blob."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass

from dicom_assets.devtools.processes import LocalServer

ACCOUNT = "devstoreaccount1"
# Azurite's documented development account key: public, the same on every machine.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_binary() -> str:
    binary = shutil.which("azurite-blob")
    if binary is None:
        raise RuntimeError(
            "Azurite is not installed: run `npm install -g azurite` (.ci/run does it)."
        )
    return binary


@dataclass
class AzuriteServer(LocalServer):
    """``azurite-blob`` on 127.0.0.1 with its data under ``data_dir`` (kept across restarts)."""

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def connection_string(self, account_key: str = ACCOUNT_KEY) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={account_key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def start(self, timeout: float = 30.0) -> AzuriteServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "azurite.log", "ab") as log:  # the child keeps its own handle
            self.process = self._spawn(log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Azurite exited; see {self.data_dir / 'azurite.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Azurite did not listen on 127.0.0.1:{self.port} within {timeout} s")

    def _spawn(self, log) -> subprocess.Popen:
        return subprocess.Popen(
            [
                azurite_binary(),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(self.data_dir),
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",  # without it Azurite tries to reach the internet
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop the process (its data stays under ``data_dir``)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> AzuriteServer:
        self.stop()
        return self.start()

    def new_container(self, prefix: str = "lake") -> str:
        """Create an empty container with a unique name and return its name."""
        from azure.storage.blob import BlobServiceClient

        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        with BlobServiceClient.from_connection_string(self.connection_string()) as client:
            client.create_container(name)
        return name
