#!/usr/bin/env bash
# Installs what the product and its tests need on a fresh Debian/Ubuntu machine:
# uv, the locked Python dependencies, Orthanc + its DICOMweb plugin, Azurite (npm) and Chromium.
# Usage: scripts/bootstrap.sh [--with-test-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST_TOOLS=0
[[ "${1:-}" == "--with-test-tools" ]] && WITH_TEST_TOOLS=1

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

need_apt=()
command -v Orthanc >/dev/null 2>&1 || [[ -x /usr/sbin/Orthanc ]] || need_apt+=(orthanc)
[[ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]] || need_apt+=(orthanc-dicomweb)
# mssql-python (the Synapse driver) loads its bundled ODBC driver through libltdl.
ldconfig -p 2>/dev/null | grep -q "libltdl.so.7" || need_apt+=(libltdl7)
# The native DICOM JSON shredder (setup.py) is compiled at install: a C compiler and headers.
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  2>/dev/null || need_apt+=(python3-dev)
if [[ $WITH_TEST_TOOLS -eq 1 ]]; then
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
  [[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
  command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
fi

if [[ ${#need_apt[@]} -gt 0 ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "This machine has no apt-get. Install these yourself, then re-run: ${need_apt[*]}" >&2
    echo "(Orthanc: https://orthanc.uclouvain.be/book/users/cookbook.html; Debian/Ubuntu are supported out of the box.)" >&2
    exit 1
  fi
  echo "Installing with apt-get: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "Installing uv with pip"
  python3 -m pip install --quiet --user "uv==0.13.8" 2>/dev/null || python3 -m pip install --quiet "uv==0.13.8"
  export PATH="$HOME/.local/bin:$PATH"
fi

uv sync --frozen --quiet

# Spark 3.5 (Synapse Spark pools, Fabric runtime 1.3) reads the lake in a test of its own, in
# its own pinned environment: the project's own pyspark is 4.x.
if [[ $WITH_TEST_TOOLS -eq 1 ]]; then
  if [[ ! -x .venv-spark35/bin/python ]]; then
    uv venv --quiet --python "$(.venv/bin/python -c 'import sys; print(sys._base_executable)')" .venv-spark35
  fi
  uv pip install --quiet --python .venv-spark35/bin/python --require-hashes \
    -r dicom_assets_tests/readers/spark35-requirements.txt
fi

if [[ $WITH_TEST_TOOLS -eq 1 ]] && ! command -v azurite-blob >/dev/null 2>&1; then
  echo "Installing Azurite with npm"
  $SUDO npm install --global --silent azurite@3.37.0 >/dev/null
fi
