"""The resource ARNs of the Task integrations stepline serves itself.

Kept apart from the integrations' modules so that naming a resource does not import its
implementation (the HTTP Task pulls in aiohttp and the cryptography stack).
"""

from __future__ import annotations

from typing import Final

__all__ = ["HTTP_INVOKE"]

HTTP_INVOKE: Final = "arn:aws:states:::http:invoke"
"""The HTTP Task: call a third-party API through an EventBridge connection."""
