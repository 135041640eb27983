#!/usr/bin/env bash
# Build nnstudio as one folder that runs without Python: dist/nnstudio/nnstudio.
#
#   packaging/build-bundle.sh            (from a clone; Linux, macOS or Windows' Git Bash)
#
# It makes a virtual environment of its own in build/bundle-venv with nnstudio and
# PyInstaller (needed for the build only), then runs packaging/nnstudio.spec. The folder runs
# on machines of the same operating system family; copy or archive it whole.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv=build/bundle-venv
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade . "pyinstaller>=6.10"
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/nnstudio.spec
echo "built dist/nnstudio/nnstudio ($(du -sh dist/nnstudio | cut -f1))"
