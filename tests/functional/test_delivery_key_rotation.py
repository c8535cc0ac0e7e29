"""`flask hub rotate-keys` moves webhook signing secrets to the current key too."""

from __future__ import annotations

import base64
import json

from sqlalchemy import select

from referral_hub.delivery.models import Webhook
from referral_hub.delivery.signing import decrypt_secret
from referral_hub.extensions import db

NEW_KEY = base64.b64decode(base64.b64encode(b"n" * 32))


def test_rotation_reencrypts_webhook_secrets(app, client, hub, monkeypatch):
    headers = hub.headers("uptd-ppa-balikpapan", "webhooks:write")
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": []},
        headers=headers,
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    secret = made.get_json()["secret"]

    old_ring = dict(app.config["HUB_DATA_KEY_RING"])
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY, **old_ring})
    result = app.test_cli_runner().invoke(args=["hub", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["rows"] >= 1

    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY})
    with app.app_context():
        (hook,) = db.session.scalars(select(Webhook)).all()
        assert hook.secret_ciphertext.startswith("v1.new.")
        assert decrypt_secret(hook.secret_ciphertext, hook.id) == secret
        db.session.remove()
