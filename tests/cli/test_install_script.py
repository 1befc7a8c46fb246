"""``scripts/install-and-serve.sh`` installs only when the checkout changed (a restart took 37 s
reinstalling every time), and still installs on a fresh clone. pip and moorage are stand-ins here
that record their calls: the script's own logic is what runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = f"""#!/bin/sh
# stand-in for python3: `-m venv DIR` makes a venv whose pip records its calls
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    ln -s {sys.executable} "$3/bin/python"
    cat > "$3/bin/pip" <<'PIP'
#!/bin/sh
echo "pip $*" >> "$CALLS"
printf '#!/bin/sh\\necho "moorage $*"\\n' > "$(dirname "$0")/moorage"
chmod +x "$(dirname "$0")/moorage"
PIP
    chmod +x "$3/bin/pip"
    exit 0
fi
exec {sys.executable} "$@"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A fresh clone: the script, pyproject.toml and the package sources, no .venv."""
    root = tmp_path / "clone"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "install-and-serve.sh", root / "scripts")
    shutil.copy(ROOT / "pyproject.toml", root)
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return root


def _start(root: Path, *args: str) -> tuple[str, list[str]]:
    calls = root.parent / "calls.log"
    env = {**os.environ, "PYTHON": str(root.parent / "python3"), "CALLS": str(calls)}
    out = subprocess.run(
        ["bash", str(root / "scripts" / "install-and-serve.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return out, calls.read_text().splitlines() if calls.exists() else []


def test_installs_on_a_fresh_clone_then_only_when_the_checkout_changed(checkout: Path) -> None:
    out, calls = _start(checkout, "--port", "5400")
    assert out == "moorage serve --port 5400\n"
    assert calls == ["pip install -q --disable-pip-version-check ."]

    # a restart with nothing changed: no install
    out, calls = _start(checkout)
    assert (out, len(calls)) == ("moorage serve\n", 1)
    # byte-code caches and build metadata are no change
    (checkout / "src" / "moorage" / "__pycache__").mkdir(exist_ok=True)
    (checkout / "src" / "moorage" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (checkout / "src" / "moorage.egg-info").mkdir(exist_ok=True)
    (checkout / "src" / "moorage.egg-info" / "PKG-INFO").write_text("x")
    assert len(_start(checkout)[1]) == 1

    # a changed source file, a new template, a changed pyproject.toml: each installs once
    app = checkout / "src" / "moorage" / "app.py"
    app.write_text(app.read_text() + "\n# changed\n")
    assert len(_start(checkout)[1]) == 2
    assert len(_start(checkout)[1]) == 2
    (checkout / "src" / "moorage" / "ui" / "templates" / "new.html").write_text("<p>new</p>")
    assert len(_start(checkout)[1]) == 3
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# changed\n")
    assert len(_start(checkout)[1]) == 4
    assert len(_start(checkout)[1]) == 4

    # an install that went missing is made again
    (checkout / ".venv" / "bin" / "moorage").unlink()
    out, calls = _start(checkout)
    assert (out, len(calls)) == ("moorage serve\n", 5)
