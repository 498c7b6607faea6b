"""Check that generated projects pass their own `npm test` (Hardhat), every template, both ways.

Not part of the test suite: it installs Hardhat and its toolbox from the npm registry (about
400 packages, once, into --workdir) with the versions a generated package.json asks for. Hardhat
would download its compiler; here it is pointed at the solc-js of that install instead, the
same version, through a config that wraps the generated one.

    .venv/bin/python bench/generated_projects.py [--workdir /tmp/generated-projects]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")

LOCAL_COMPILER = """const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");
// No compiler download: the solc-js installed beside Hardhat, which is the pinned version.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args) => ({
  compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: args.solcVersion,
  longVersion: require("solc/package.json").version,
}));
module.exports = require("./hardhat.config.js");
"""


def install(workdir: Path, dev_dependencies: dict[str, str], solc: str) -> Path:
    modules = workdir / "deps"
    modules.mkdir(parents=True, exist_ok=True)
    (modules / "package.json").write_text(
        json.dumps(
            {
                "name": "generated-projects-deps",
                "private": True,
                "devDependencies": {**dev_dependencies, "solc": solc},
            }
        )
    )
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=modules, check=True)
    return modules / "node_modules"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="/tmp/generated-projects")
    workdir = Path(parser.parse_args().workdir)
    import django

    django.setup()
    from jobs.generation.render import render_project
    from jobs.generation.toolchain import toolchain_versions
    from jobs.scaffolds import TEMPLATES, template_defaults

    failed, modules = [], None
    for key, template in TEMPLATES.items():
        for flip in (False, True):
            params = {**template_defaults(key), "name": "Generated Check", "template": key}
            if flip:
                params.update({o.name: not o.default for o in template.options if o.kind == "bool"})
            files = render_project(params)
            if modules is None:  # every template asks for the same versions
                modules = install(
                    workdir,
                    json.loads(files["package.json"])["devDependencies"],
                    solc=toolchain_versions().solc,
                )
            root = workdir / f"{key}-{'flipped' if flip else 'defaults'}"
            for path, text in files.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text, encoding="utf-8")
            (root / "hardhat.local.js").write_text(LOCAL_COMPILER)
            if not (root / "node_modules").exists():
                (root / "node_modules").symlink_to(modules)
            result = subprocess.run(
                ["npx", "hardhat", "--config", "hardhat.local.js", "test"], cwd=root, check=False
            )
            print(f"== {root.name}: {'passed' if result.returncode == 0 else 'FAILED'}")
            if result.returncode:
                failed.append(root.name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
