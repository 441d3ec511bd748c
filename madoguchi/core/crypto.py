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
