"""Who is asking: one identity, one owner key, one journey pseudonym, one ownership rule."""

import hashlib
import hmac

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from jobs.access import (
    ANON_OWNER_KEY,
    TOKEN_ATTRIBUTE,
    Identity,
    TooManyVisitors,
    identity_now,
    owner_key,
    visitor_id,
)
from jobs.models import Job, WizardDraft
from tests.support.ratelimits import clear_rate_limits


def _hashed(raw: str, secret: str) -> str:
    return hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def test_the_owner_key_is_the_user_else_the_anonymous_session_else_no_one():
    assert owner_key(user_id=7, anon_owner="abc") == "user:7"
    assert owner_key(user_id=None, anon_owner="abc") == "anon:abc"
    assert owner_key(user_id=None, anon_owner="") == "anon:-"


def test_journey_pseudonyms_keep_the_values_already_stored(settings):
    # Journeys stored before the owner key was shared must stay joined to their new events.
    secret = settings.SECRET_KEY
    assert visitor_id(user_id=7, anon_owner="abc") == _hashed("user:7", secret)
    assert visitor_id(user_id=None, anon_owner="abc") == _hashed("anon:abc", secret)
    assert visitor_id(user_id=None, anon_owner="") == _hashed("anon:", secret)


def test_an_identity_derives_its_key_pseudonym_and_owner_columns():
    user = Identity(user_id=7, is_staff=False, anon_owner="abc")
    anon = Identity(user_id=None, anon_owner="abc")

    assert (user.key, anon.key) == ("user:7", "anon:abc")
    assert user.visitor == visitor_id(user_id=7, anon_owner="")
    assert anon.visitor == visitor_id(user_id=None, anon_owner="abc")
    assert user.owner_columns == {"owner_id": 7, "anon_owner": ""}
    assert anon.owner_columns == {"owner_id": None, "anon_owner": "abc"}


@pytest.mark.django_db
def test_identity_of_a_user_reads_staff_and_of_no_user_keeps_the_session(owner, staff_user):
    assert Identity.of(owner) == Identity(user_id=owner.pk, is_staff=False)
    assert Identity.of(staff_user).is_staff
    assert Identity.of(AnonymousUser(), anon_owner="abc") == Identity(
        user_id=None, anon_owner="abc"
    )
    assert Identity.of(None) == Identity(user_id=None)


@pytest.mark.django_db
def test_owns_matches_what_the_identity_made_and_nothing_else(owner, django_user_model):
    other_user = django_user_model.objects.create_user(username="someone-else")
    mine = WizardDraft.objects.create(**Identity.of(owner).owner_columns)
    anon = WizardDraft.objects.create(owner_id=None, anon_owner="abc")
    WizardDraft.objects.create(owner=other_user, anon_owner="")

    assert list(WizardDraft.objects.filter(Identity.of(owner, anon_owner="abc").owns)) == [mine]
    assert list(WizardDraft.objects.filter(Identity(user_id=None, anon_owner="abc").owns)) == [anon]
    assert not Job.objects.filter(Identity(user_id=None, anon_owner="other").owns).exists()


def _request(user=None, session=None):
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = session if session is not None else _Session()
    return request


class _Session(dict):
    """What identity_now reads and writes of a session."""


def test_identity_now_reads_the_session_owner_id_without_making_one():
    request = _request(session=_Session({ANON_OWNER_KEY: "abc"}))
    assert identity_now(request) == Identity(user_id=None, anon_owner="abc")

    empty = _request()
    assert identity_now(empty) == Identity(user_id=None)
    assert ANON_OWNER_KEY not in empty.session


def test_identity_now_creating_gives_an_anonymous_visitor_an_owner_id(settings):
    clear_rate_limits()
    settings.JOBS_NEW_VISITORS_PER_ADDRESS = 1
    first, second = _request(), _request()

    made = identity_now(first, create=True)
    assert made.anon_owner and first.session[ANON_OWNER_KEY] == made.anon_owner
    assert identity_now(first, create=True) == made  # kept, not made again
    with pytest.raises(TooManyVisitors):
        identity_now(second, create=True)


@pytest.mark.django_db
def test_a_token_s_user_counts_without_the_session_owner_id(owner):
    request = _request(user=owner, session=_Session({ANON_OWNER_KEY: "abc"}))
    setattr(request, TOKEN_ATTRIBUTE, object())

    assert identity_now(request) == Identity(user_id=owner.pk)
