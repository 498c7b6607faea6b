"""Install the peer into bench/.peer-venv from PyPI (pinned), again only when the pins change."""

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".peer-venv"
REQUIREMENTS = HERE / "requirements.txt"
PIP_TIMEOUT_S = 600


def peer_python() -> Path:
    """Return the peer venv's interpreter, creating the venv and installing the pins if needed."""
    python = VENV / "bin" / "python"
    stamp_file = VENV / "requirements.sha256"
    stamp = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()
    if python.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
    log = VENV / "pip-install.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=PIP_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"installing the peer failed; see {log}:\n{log.read_text(errors='replace')[-2000:]}"
        )
    stamp_file.write_text(stamp + "\n")
    return python


if __name__ == "__main__":
    print(peer_python())
