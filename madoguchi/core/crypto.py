"""Encryption at rest for secrets kept in the database (channel secrets, access tokens).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`; MultiFernet so that keys rotate: the
first key in MADOGUCHI_ENCRYPTION_KEYS encrypts, every key decrypts. Without configured keys a
key is derived from SECRET_KEY, which is enough for the demo and documented as such.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"madoguchi-at-rest").derive(
            settings.SECRET_KEY.encode()
        )
        keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "MADOGUCHI_ENCRYPTION_KEYS must be Fernet keys "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: MADOGUCHI_ENCRYPTION_KEYS lacks the key it was written with"
        ) from None


def seal(value: Any) -> str:
    """A JSON value encrypted, for content only its readers may see (counseling messages)."""
    return encrypt(json.dumps(value, ensure_ascii=False))


def unseal(sealed: str) -> Any:
    return json.loads(decrypt(sealed))


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the current first key."""
    return _fernet().rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees plaintext.

    Encrypted values cannot be searched or compared in SQL, which is the point.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


# Encrypted values kept inside JSON (sealed events and sent counseling messages): functions that
# re-encrypt them with the current first key, by dotted path (core imports no feature app).
SEALED_JSON_ROTATIONS = [
    "madoguchi.channels.line.inbound.events_rotate_keys",
    "madoguchi.channels.line.client.requests_rotate_keys",
]


def rotate_all(batch: int = 500) -> dict[str, int]:
    """Re-encrypt everything stored encrypted with the first key of MADOGUCHI_ENCRYPTION_KEYS, so
    the old keys can then be removed. Every EncryptedTextField of every model, and sealed JSON."""
    from django.apps import apps
    from django.db import transaction
    from django.utils.module_loading import import_string

    counts: dict[str, int] = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        done = 0
        for pk in model._default_manager.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                row = model._default_manager.select_for_update().filter(pk=pk).first()
                if row is not None:
                    # Read decrypts with any key; saving encrypts with the first.
                    row.save(update_fields=fields)
                    done += 1
        counts[model._meta.label] = done
    for path in SEALED_JSON_ROTATIONS:
        counts[path.rsplit(".", 1)[-1]] = import_string(path)(batch)
    return counts
