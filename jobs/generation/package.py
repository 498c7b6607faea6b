"""Stage 5: zip the project: sources, tests, and the compiled artifacts (ABI and bytecode)."""

import io
import json
import zipfile

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from jobs.generation.compile import Artifact

ARTIFACTS_DIR = "build/contracts"
"""Where the artifacts go; not Hardhat's own artifacts/, which `hardhat clean` empties."""


def artifact_files(artifacts: list[Artifact], *, compiler: str) -> dict[str, str]:
    """Return {path: JSON text} of each compiled contract's artifact."""
    return {
        f"{ARTIFACTS_DIR}/{a.contract}.json": json.dumps(a.as_json(compiler=compiler), indent=2)
        + "\n"
        for a in artifacts
    }


def zip_project(files: dict[str, str], *, root: str) -> bytes:
    """Return the zip of the files, all under the folder `root`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(files.items()):
            archive.writestr(f"{root}/{path}", text)
    return buffer.getvalue()


def store_project(data: bytes, *, name: str) -> str:
    """Save the zip in the default storage; return the name it was stored under."""
    return default_storage.save(name, ContentFile(data))
