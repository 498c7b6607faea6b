"""Stage 5: the project's zip, with the compiled artifacts beside the sources."""

import io
import json
import zipfile

from django.core.files.storage import default_storage

from jobs.generation.compile import Artifact
from jobs.generation.package import ARTIFACTS_DIR, artifact_files, store_project, zip_project

ARTIFACT = Artifact(
    contract="Coin",
    source="contracts/Coin.sol",
    abi=[{"type": "function", "name": "totalSupply"}],
    bytecode="6080",
    deployed_bytecode="6081",
)


def test_each_artifact_is_a_json_file_under_the_artifacts_folder():
    files = artifact_files([ARTIFACT], compiler="0.8.28")

    assert list(files) == [f"{ARTIFACTS_DIR}/Coin.json"]
    text = files[f"{ARTIFACTS_DIR}/Coin.json"]
    assert text.endswith("}\n")
    assert json.loads(text) == ARTIFACT.as_json(compiler="0.8.28")


def test_the_zip_holds_every_file_under_its_one_folder():
    data = zip_project({"b.txt": "two", "a/readme.md": "one"}, root="my-coin")

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["my-coin/a/readme.md", "my-coin/b.txt"]
        assert archive.read("my-coin/b.txt") == b"two"


def test_the_zip_is_stored_and_its_stored_name_returned(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }

    name = store_project(b"zip bytes", name="projects/my-coin.zip")

    with default_storage.open(name) as stored:
        assert stored.read() == b"zip bytes"
