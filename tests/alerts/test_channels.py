"""The channel registry (alerts/channels.py): every channel the queue, the waves, the
reconciliation and the pages go through is complete, so that a channel is added in one place."""

from __future__ import annotations

from alerts.channels import CHANNELS, REASONS, Recipients
from alerts.labels import CHANNEL_LABELS
from alerts.models import CHANNELS as STORED_CHANNELS
from alerts.models import DELIVERY_STATUSES


def test_every_channel_can_be_stored_named_and_maps_only_onto_delivery_statuses():
    assert list(CHANNELS) == list(STORED_CHANNELS)  # the database's check constraint takes each
    for name, channel in CHANNELS.items():
        assert channel.name == name and name in CHANNEL_LABELS  # the pages have words for it
        assert set(channel.statuses.values()) <= set(DELIVERY_STATUSES)
        assert set(channel.failed_for_good) <= set(DELIVERY_STATUSES)
        assert channel.address_columns("x") in ({"phone": "x", "email": ""}, {"phone": "", "email": "x"})


def test_each_channel_picks_its_own_recipients_with_reasons(app):
    from incident.models import Contact

    anna = Contact(id=1, name="Kovács Anna", phone="+36205550301", email="anna@example.hu", sms_opt_in=True)
    bela = Contact(id=2, name="Nagy Béla", phone="+3612345678", email="", sms_opt_in=True)  # a landline, no e-mail
    cili = Contact(id=3, name="Szabó Cecília", phone="+36205550301", email="ANNA@example.hu", sms_opt_in=True)
    with app.app_context():
        picked = {name: channel.pick([anna, bela, cili], None) for name, channel in CHANNELS.items()}
        drill = CHANNELS["email"].pick([anna, bela, cili], {2})
    reach = {name: ([c.name for c, _ in r.send], sorted(reason for _, reason in r.excluded)) for name, r in picked.items()}
    assert reach == {
        "sms": (["Kovács Anna"], ["duplicate_phone", "not_mobile"]),
        "email": (["Kovács Anna"], ["duplicate_email", "no_email"]),
        "voice": (["Kovács Anna", "Nagy Béla"], ["duplicate_phone"]),
    }
    assert all(isinstance(r, Recipients) and {reason for _, reason in r.excluded} <= set(REASONS) for r in picked.values())
    # A drill reaches only its test group (Béla), whatever the channel: here he has no address.
    assert drill.send == [] and sorted(reason for _, reason in drill.excluded) == ["drill_safety", "drill_safety", "no_email"]


def test_a_call_asks_for_a_key_only_when_the_alert_asks_for_acknowledgement(app):
    import xml.etree.ElementTree as ET

    from alerts.gateways import call_twiml, call_words

    with app.app_context():
        words = call_words(app.config)
    asking = ET.fromstring(call_twiml("Gátszakadás.", "https://riado.example/webhooks/twilio/voice?d=1", words))
    telling = ET.fromstring(call_twiml("Gátszakadás.", None, words))
    assert asking.find("Gather") is not None and words.prompt in [s.text for s in asking.iter("Say")]
    assert telling.find("Gather") is None and words.prompt not in [s.text for s in telling.iter("Say")]
    assert [s.text for s in telling.iter("Say")] == ["Gátszakadás.", "Gátszakadás.", words.goodbye]
