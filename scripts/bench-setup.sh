#!/usr/bin/env bash
# Installs what bench/proxy.mjs compares against and npm does not bring: Debian's jupyter-server
# (JupyterHub's single-user server, behind configurable-http-proxy as in JupyterHub). Idempotent:
# does nothing when `python3 -m jupyter_server` already works. Needs root (apt-get) otherwise;
# without it the bench names the peer "not installed" and carries on.
set -euo pipefail

# Debian's package is for the system Python, which a pyenv or venv `python3` on PATH may hide;
# bench/proxy.mjs looks in the same places.
PYTHON=/usr/bin/python3
version() { "$PYTHON" -c 'import jupyter_server; print(jupyter_server.__version__)' 2>/dev/null; }

if found=$(version); then
  echo "jupyter-server: already installed ($found)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "jupyter-server: not installed, and no apt-get here to install it" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "jupyter-server: not installed; installing it needs root (apt-get install python3-jupyter-server)" >&2
    exit 1
  fi
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends python3-jupyter-server >/dev/null
echo "jupyter-server: installed ($(version))"
