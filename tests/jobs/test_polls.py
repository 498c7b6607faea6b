"""The status poll's protocol: its ETag and the fallback header."""

from jobs.polls import FALLBACK_HEADER, etag_of, offers, parse_etag

JOB = "0b0e7f2e-6f1c-4c3b-9d55-2a0f1b4c1a7e"


def test_the_etag_round_trips_and_only_an_offered_tag_matches() -> None:
    tag = etag_of(JOB, 12, 3)
    assert parse_etag(tag) == (JOB, 12, 3)
    assert offers(f'"x", {tag}', tag) and offers(tag.removeprefix("W/"), tag)
    assert not offers("*", tag) and not offers(etag_of(JOB, 12, 4), tag)
    for junk in ('W/"short-1-2"', 'W/"0b0e7f2e-6f1c-4c3b-9d55-2a0f1b4c1a7e-x-2"', "", '"a"'):
        assert parse_etag(junk) is None


def test_the_tag_is_weak_and_names_the_job_its_last_seq_and_the_cursor() -> None:
    assert etag_of(JOB, 12, 3) == f'W/"{JOB}-12-3"'


def test_a_weak_offer_matches_a_strong_tag_and_several_offers_are_read() -> None:
    tag = etag_of(JOB, 1, 0)
    assert offers(f'W/"{JOB}-1-0"', tag)
    assert offers(f'"other", W/"{JOB}-1-0"', tag)
    assert not offers("", tag)


def test_the_fallback_header_is_a_custom_header() -> None:
    assert FALLBACK_HEADER.startswith("X-")
