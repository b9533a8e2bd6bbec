"""The shared secret between Kannel and the platform: callbacks prove they come from our gateway."""

import hashlib
import hmac
import ipaddress

from django.conf import settings


def _secret() -> bytes:
    return settings.KANNEL_CALLBACK_SECRET.encode("utf-8")


def sign(value: str) -> str:
    """A signature for one delivery-report id: a leaked dlr-url cannot be replayed for another message."""
    return hmac.new(_secret(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def valid_signature(value: str, signature: str) -> bool:
    return bool(settings.KANNEL_CALLBACK_SECRET) and hmac.compare_digest(sign(value), signature or "")


def valid_secret(given: str) -> bool:
    """The plain shared secret (the MO get-url cannot carry a per-message signature)."""
    secret = settings.KANNEL_CALLBACK_SECRET
    return bool(secret) and hmac.compare_digest(secret.encode("utf-8"), (given or "").encode("utf-8"))


def ip_allowed(address: str) -> bool:
    """Whether ``address`` is in KANNEL_ALLOWED_IPS (addresses or networks such as 10.1.0.0/16)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.KANNEL_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
