from __future__ import annotations

import pytest
from django.db import connection

from madoguchi.core.models import Channel
from madoguchi.settings_env import env_bool, env_int, env_list


@pytest.mark.django_db
def test_channel_secret_and_token_are_encrypted_at_rest():
    Channel.objects.create(
        slug="c",
        name="c",
        provider_channel_id="1",
        channel_secret="top-secret-value",
        access_token="tok-123456",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT channel_secret, access_token FROM core_channel")
        secret, token = cursor.fetchone()
    assert "top-secret-value" not in secret
    assert "tok-123456" not in token
    channel = Channel.objects.get()
    assert channel.channel_secret == "top-secret-value"
    assert channel.access_token == "tok-123456"


def test_env_helpers_refuse_nonsense(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_BOOL", "perhaps")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "-5")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_LIST", " a, ,b ")
    assert env_list("X_LIST", []) == ["a", "b"]
