"""Encryption of personal fields and the keyed hash that finds a name.

Personal fields are Fernet tokens under the keys of ``TRACKER_DATA_KEY``
(comma-separated; the first encrypts, all decrypt, so keys can be rotated).
The name hash is an HMAC of the normalised name under a key derived from the
first data key, so staff can find a mother by her exact name without
decrypting the table; rotating the first key means re-hashing (``flask
data-key rotate``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DataKeyError(RuntimeError):
    pass


class KeyRing:
    def __init__(self, keys: str):
        parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
        if not parts:
            raise DataKeyError("TRACKER_DATA_KEY holds no key")
        try:
            self.fernets = [Fernet(k.encode()) for k in parts]
        except ValueError:
            raise DataKeyError("TRACKER_DATA_KEY must hold Fernet keys (32 url-safe base64 bytes each)") from None
        self.multi = MultiFernet(self.fernets)
        self.hash_key = hashlib.sha256(b"tracker-name-hash:" + parts[0].encode()).digest()

    def encrypt(self, text: str) -> str:
        return self.multi.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self.multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise DataKeyError("a personal field cannot be decrypted with the configured keys") from None

    def rotate(self, token: str) -> str:
        return self.multi.rotate(token.encode("ascii")).decode("ascii")

    def name_hash(self, name: str) -> str:
        return hmac.new(self.hash_key, normalise_name(name).encode("utf-8"), hashlib.sha256).hexdigest()


def init_app(app) -> None:
    app.extensions["tracker.keyring"] = KeyRing(app.config["TRACKER_DATA_KEY"])


def keyring() -> KeyRing:
    return current_app.extensions["tracker.keyring"]


_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Lower case, accents folded, spaces collapsed: ``" Marie-Claire  Ngoyi"``
    and ``"marie-claire ngoyi"`` hash alike; ``"Bénédicte"`` matches ``"Benedicte"``."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _SPACES.sub(" ", folded).strip()


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
