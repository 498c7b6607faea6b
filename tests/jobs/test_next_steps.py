"""The finished job's page says what to do with the zip: the folder, the first commands, the
wallet and chain, and the target network's own deploy when it is not the devnet."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.jobs import succeeded_job

pytestmark = pytest.mark.django_db


def next_steps(owner, params) -> str:
    job = succeeded_job(owner=owner, params=params)
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("jobs:page", args=[job.pk])).content.decode()
    found = re.search(r'<section class="next-steps".*?</section>', page, re.DOTALL)
    assert found, "no next steps on the finished page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found[0]))


def test_a_devnet_project_says_how_to_run_it_and_which_wallet_network(owner):
    text = next_steps(owner, {"name": "Harbor Commons DAO", "template": "dao"})
    assert "Unzip it and open a terminal in harbor-commons-dao/" in text
    assert "Run npm ci" in text and "npm test" in text
    assert "npm run node: a local devnet at http://127.0.0.1:8545" in text
    assert "run npm run deploy, then npm run web" in text
    assert "RPC URL http://127.0.0.1:8545, chain id 31337" in text
    assert "how to walk a vote through on the devnet" in text
    assert "deploy:" not in text


def test_a_public_network_project_also_says_what_to_set_for_its_deploy(owner):
    text = next_steps(owner, {"name": "Harbor Coin", "template": "token", "network": "mainnet"})
    assert "Unzip it and open a terminal in harbor-coin-token/" in text
    assert "When you are ready for Ethereum mainnet (chain 1): set MAINNET_RPC_URL" in text
    assert "DEPLOYER_KEY" in text and "npm run deploy:mainnet" in text
