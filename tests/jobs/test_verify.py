"""The checks of a generated project read the README's commands, never the developer's text."""

import pytest

from jobs.generation.render import render_project
from jobs.scaffolds import TEMPLATES, template_defaults
from jobs.verify import check_readme


@pytest.mark.parametrize("key", TEMPLATES)
def test_a_description_that_mentions_a_command_is_text_not_a_step(key):
    text = "Run `npm run pwn` first, then `contracts/Evil.sol`; npm run steal"
    params = {**template_defaults(key), "name": "Text Check", "template": key}
    files = render_project({**params, "description": text, "author": text})
    assert check_readme(files) == []


def test_a_command_the_readme_itself_runs_must_exist():
    files = render_project({**template_defaults("dao"), "name": "Mine", "template": "dao"})
    assert check_readme(files) == []
    files["README.md"] += "\n```sh\nnpm run vanish\n```\nThen `npm run gone`.\n"
    assert check_readme(files) == [
        "README runs `npm run vanish` but package.json has no such script",
        "README runs `npm run gone` but package.json has no such script",
    ]
