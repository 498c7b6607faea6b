"""What a pub/sub link counts of (S)SUBSCRIBE replies (realtime/broker/protocol.py)."""

from realtime.broker.protocol import take_confirmation


def test_only_the_reply_to_the_last_subscribe_makes_a_channel_live():
    pending, subscribed, live = {"c": 2}, {"c"}, set()
    assert not take_confirmation("c", pending=pending, subscribed=subscribed, live=live)
    assert live == set() and pending == {"c": 1}
    assert take_confirmation("c", pending=pending, subscribed=subscribed, live=live)
    assert live == {"c"} and pending == {}


def test_a_reply_for_a_channel_no_longer_subscribed_makes_nothing_live():
    pending, live = {"c": 1}, set[str]()
    assert not take_confirmation("c", pending=pending, subscribed=set(), live=live)
    assert live == set() and pending == {}
