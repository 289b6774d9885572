"""Short signed links to an alert page, for the alert texts staff get on their phones.

`/staff/a/K7Q2?s=SIG`: SIG is an HMAC of the alert code with `[staff] link_secret`, so a link
can only come from us; opening it still needs a sign-in and the role check. Pure functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIG_CHARS = 10  # 60 bits: enough that guessing is pointless, short enough for one SMS


def link_signature(secret: str, code: str) -> str:
    digest = hmac.new(secret.encode(), f"alert:{code.upper()}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIG_CHARS]


def alert_link(public_base_url: str, secret: str, code: str) -> str:
    """The link for an alert; "" when no secret is configured (texts then carry none)."""
    if not secret:
        return ""
    return f"{public_base_url.rstrip('/')}/staff/a/{code.upper()}?s={link_signature(secret, code)}"


def link_is_genuine(secret: str, code: str, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(link_signature(secret, code).encode(),
                                                signature.encode("utf-8", "replace"))
