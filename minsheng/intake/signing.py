"""HMAC-SHA256 request signing for partner pushes.

The partner sends ``X-Minsheng-Key`` (its key id), ``X-Minsheng-Timestamp`` (Unix seconds) and
``X-Minsheng-Signature`` = hex(HMAC-SHA256(secret, timestamp + "\\n" + body)). A request outside the
partner's replay window is refused, and so is the same signature a second time.
"""

import hashlib
import hmac
import time

KEY_HEADER = "X-Minsheng-Key"
TIMESTAMP_HEADER = "X-Minsheng-Timestamp"
SIGNATURE_HEADER = "X-Minsheng-Signature"


class SignatureError(Exception):
    def __init__(self, code: str, message: str, status: int = 401):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def signed_headers(partner, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers a partner would send (used by tests, the benchmark and the README's example)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        KEY_HEADER: partner.key_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(partner.secret, stamp, body),
    }


def verify(partner, headers, body: bytes, *, now: float | None = None) -> str:
    """Return the signature when the request is authentic and fresh; raise SignatureError otherwise."""
    key, stamp, signature = (headers.get(h, "") for h in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not (key and stamp and signature):
        raise SignatureError(
            "unsigned", "缺少签名头（X-Minsheng-Key、X-Minsheng-Timestamp、X-Minsheng-Signature）"
        )
    if not hmac.compare_digest(key.encode(), partner.key_id.encode()):
        raise SignatureError("bad_key", "密钥编号与对接系统不符")
    try:
        moment = int(stamp)
    except ValueError:
        raise SignatureError("bad_timestamp", "时间戳应为 Unix 秒数") from None
    now = time.time() if now is None else now
    if abs(now - moment) > partner.replay_window_s:
        raise SignatureError("stale_timestamp", f"时间戳超出 {partner.replay_window_s} 秒的有效时间窗")
    if not hmac.compare_digest(sign(partner.secret, stamp, body).encode(), signature.lower().encode()):
        raise SignatureError("bad_signature", "签名校验失败")
    return signature.lower()
