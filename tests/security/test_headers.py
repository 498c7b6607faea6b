"""What the browser is told: a Content-Security-Policy with a nonce on every script and no
inline code; with DEBUG off, HTTPS only (HSTS, redirect, Secure cookies); and
`manage.py check --deploy` clean for the production settings."""

import re
import secrets
import subprocess
import sys
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from jobs import services
from tests.support.servers import ROOT, base_env

TEMPLATES_DIR = ROOT / "templates"
POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
INLINE_STYLE_OR_HANDLER = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=", re.IGNORECASE)


def nonce_of(response: Any) -> str:
    """Return the nonce of the response's CSP header, checking the rest of the policy."""
    header = response["Content-Security-Policy"]
    match = re.search(r"'nonce-([A-Za-z0-9_-]+)'", header)
    assert match, header
    assert header == POLICY.format(nonce=match.group(1))
    return match.group(1)


def assert_scripts_carry(html: str, nonce: str) -> None:
    """Check that every script of the page is a file with the nonce, and nothing is inline."""
    scripts = SCRIPT_TAG.findall(html)
    assert scripts, "every page of ours loads its script"
    for attributes, body in scripts:
        assert f'nonce="{nonce}"' in attributes, attributes
        assert "src=" in attributes and not body.strip(), "no inline script"
    assert not INLINE_STYLE_OR_HANDLER.search(html), INLINE_STYLE_OR_HANDLER.search(html)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["wizard", "job", "dashboard"])
def test_each_page_has_the_policy_and_its_scripts_carry_its_nonce(
    page: str, owner: Any, staff_user: Any
) -> None:
    client = Client()
    if page == "wizard":
        url = reverse("jobs:wizard-step", args=["basics"])
    elif page == "job":
        client.force_login(owner)
        job = services.job_create(owner=owner, params={"name": "Csp Coin", "template": "token"})
        url = reverse("jobs:page", args=[job.pk])
    else:
        client.force_login(staff_user)
        url = reverse("dashboard:page")
    first, second = client.get(url), client.get(url)

    assert first.status_code == 200
    nonce = nonce_of(first)
    assert_scripts_carry(first.content.decode(), nonce)
    assert nonce_of(second) != nonce, "a fresh nonce per response"


@pytest.mark.django_db
def test_the_wizard_and_the_dashboard_are_never_stored(staff_user: Any) -> None:
    """A draft and what staff see are one person's: no shared or disk cache may keep them."""
    visitor, staff = Client(), Client()
    staff.force_login(staff_user)
    answers = {
        "wizard home": visitor.get(reverse("jobs:wizard")),
        "wizard step": visitor.get(reverse("jobs:wizard-step", args=["basics"])),
        "wizard post": visitor.post(
            reverse("jobs:wizard-step", args=["basics"]), {"name": "Cached Coin"}
        ),
        "wizard validate": visitor.post(reverse("jobs:wizard-validate"), {"step": "basics"}),
        "dashboard": staff.get(reverse("dashboard:page")),
        "dashboard poll": staff.get(reverse("dashboard:snapshot")),
        "dashboard, not staff": visitor.get(reverse("dashboard:page")),
    }
    for name, response in answers.items():
        directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= directives, (name, response.get("Cache-Control"))


@pytest.mark.django_db
def test_json_and_the_admin_get_the_policy_too() -> None:
    client = Client()
    for url in (reverse("jobs:api-templates"), reverse("admin:login"), "/healthz"):
        assert client.get(url)["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize(
    "template",
    sorted(p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.html")),
)
def test_no_template_has_inline_script_style_or_handlers(template: str) -> None:
    text = (TEMPLATES_DIR / template).read_text().replace("{{ csp_nonce }}", "NONCE")
    text = re.sub(r"{%.*?%}|{{.*?}}", "", text, flags=re.DOTALL)  # tags may hold a ">"
    for attributes, body in SCRIPT_TAG.findall(text):
        assert 'nonce="NONCE"' in attributes and "src=" in attributes, template
        assert not body.strip(), f"{template}: inline script"
    assert not INLINE_STYLE_OR_HANDLER.search(text), template


def production_env(**overrides: str) -> dict[str, str]:
    """Return the environment of the production settings (DEBUG off, a real SECRET_KEY)."""
    env = base_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50)[:50],
        ALLOWED_HOSTS="example.com",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/composer",
    )
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER"):
        env.pop(name, None)
    return env | overrides


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `manage.py` with `args` in a child process; return what it did."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_for_the_production_settings() -> None:
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNINGS" not in output and not re.search(r"\bW0\d\d\b", output), output
    assert "no issues" in output


@pytest.mark.parametrize(
    "key",
    [None, secrets.token_urlsafe(32)[:32], secrets.token_urlsafe(50)[:49], "ab" * 30],
    ids=["unset", "32 characters", "49 characters", "2 distinct"],
)
def test_production_refuses_to_start_without_a_real_secret_key(key: str | None) -> None:
    env = production_env()
    del env["SECRET_KEY"]
    if key is not None:
        env["SECRET_KEY"] = key
    done = manage("check", env=env)
    assert done.returncode != 0
    assert "SECRET_KEY must be set to a random string of at least 50 characters" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_with_debug_off_the_site_is_https_only_with_secure_cookies(start_web: Any) -> None:
    web = start_web(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )
    https = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy says

    plain = httpx.get(f"{web.url}/wizard/basics/", timeout=10)
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://127.0.0.1:{web.port}/wizard/basics/"
    for probe in ("/healthz", "/readyz", "/metrics"):  # probes talk to the process directly
        assert httpx.get(f"{web.url}{probe}", timeout=10).status_code == 200, probe

    page = httpx.get(f"{web.url}/wizard/basics/", headers=https, timeout=10)
    assert page.status_code == 200
    assert page.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    cookies = {c.split("=", 1)[0]: c for c in page.headers.get_list("set-cookie")}
    # A GET writes no session; the first thing sent starts one.
    csrf = cookies["csrftoken"].split(";", 1)[0].split("=", 1)[1]
    sent = httpx.post(
        f"{web.url}/wizard/validate",
        data={"step": "basics", "name": "Fine Name"},
        headers={
            **https,
            "X-CSRFToken": csrf,
            "Cookie": f"csrftoken={csrf}",
            "Origin": f"https://127.0.0.1:{web.port}",
        },
        timeout=10,
    )
    assert sent.status_code == 200
    cookies.update({c.split("=", 1)[0]: c for c in sent.headers.get_list("set-cookie")})
    assert {"sessionid", "csrftoken"} <= cookies.keys()
    for name in ("sessionid", "csrftoken"):
        assert re.search(r";\s*Secure\b", cookies[name]), cookies[name]
    assert "HttpOnly" in cookies["sessionid"]
    assert "SameSite=Lax" in cookies["sessionid"]


def test_the_proxy_header_setting_must_name_a_header_and_a_value() -> None:
    done = manage("check", env=production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO"))
    assert done.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER takes a header and a value" in done.stderr
