"""Start and stop a local Orthanc (Debian packages ``orthanc`` + ``orthanc-dicomweb``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import requests

from dicom_assets.devtools.processes import LocalServer, stop_process_group

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def orthanc_binary() -> str:
    binary = shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
    )
    if binary is None or not DICOMWEB_PLUGIN.exists():
        raise RuntimeError(
            "Orthanc with its DICOMweb plugin is not installed: on Debian/Ubuntu run "
            "`sudo apt-get install orthanc orthanc-dicomweb` (make demo and .ci/run do it)."
        )
    return binary


@dataclass
class OrthancServer(LocalServer):
    """An Orthanc process on 127.0.0.1 with its storage under ``data_dir``."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web/"

    def write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "dicom-assets",
            "StorageDirectory": str(self.data_dir / "storage"),
            "IndexDirectory": str(self.data_dir / "storage"),
            "HttpPort": self.port,
            # Orthanc 1.10 listens on every interface; remote access stays refused.
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": False,
            "HttpTimeout": 60,
            "StableAge": 5,
            "Plugins": [str(DICOMWEB_PLUGIN)],
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "StudiesMetadata": "Full",
                "SeriesMetadata": "Full",
            },
        }
        path = self.data_dir / "orthanc.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def start(self, timeout: float = 30.0) -> Self:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is already in use (another Orthanc running?)")
        config = self.write_config()
        with open(self.data_dir / "orthanc.log", "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [orthanc_binary(), str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "TZ": "UTC"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited, see {self.data_dir / 'orthanc.log'}")
            try:
                if requests.get(f"{self.url}/system", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"Orthanc did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout=15)
        self.process = None
