"""The ``Stepline`` extension block of a request: per-connection TLS and pacing limits.

``{"Tls": {"CaBundlePem", "ClientCertificatePem", "ClientKeyPem"},
"Limits": {"RatePerSecond", "Burst", "MaxConcurrency"}}`` — neither exists in AWS. PEM texts are
parsed at save time; the client key goes to the secret mapping, never to the record.
"""

from __future__ import annotations

import math

from stepline._secret import Secret
from stepline.connections._fields import fail, join, string, structure
from stepline.connections._model import CLIENT_KEY_SECRET, TlsSettings
from stepline.connections._pem import check_tls
from stepline.connections._resolved import ConnectionLimits

__all__ = ["parse_extensions"]


def parse_extensions(
    value: object, secrets: dict[str, Secret]
) -> tuple[TlsSettings | None, ConnectionLimits | None, bool, bool]:
    """Parse the ``Stepline`` extension block.

    Args:
        value: The block, or ``None``.
        secrets: Where the TLS client key goes (the request's secret mapping).

    Returns:
        ``(tls, limits, tls sent, limits sent)``; an empty ``Tls``/``Limits`` object counts as
        sent and means "none".
    """
    if value is None:
        return None, None, False, False
    body = structure(value, "Stepline", frozenset({"Tls", "Limits"}))
    tls_sent = body.get("Tls") is not None
    limits_sent = body.get("Limits") is not None
    tls = _tls(body["Tls"], secrets) if tls_sent else None
    limits = _limits(body["Limits"]) if limits_sent else None
    return tls, limits, tls_sent, limits_sent


def _tls(value: object, secrets: dict[str, Secret]) -> TlsSettings | None:
    path = "Stepline.Tls"
    members = frozenset({"CaBundlePem", "ClientCertificatePem", "ClientKeyPem"})
    body = structure(value, path, members)
    ca = body.get("CaBundlePem")
    cert = body.get("ClientCertificatePem")
    key = body.get("ClientKeyPem")
    ca_text = None if ca is None else string(ca, join(path, "CaBundlePem"), None)
    cert_text = None if cert is None else string(cert, join(path, "ClientCertificatePem"), None)
    key_text = (
        None if key is None else string(key, join(path, "ClientKeyPem"), None, sensitive=True)
    )
    problem = check_tls(ca_text, cert_text, key_text)
    if problem is not None:
        member, text = problem
        fail(join(path, member), text)
    if ca_text is None and cert_text is None:
        return None
    if key_text is not None:
        secrets[CLIENT_KEY_SECRET] = Secret(key_text)
    return TlsSettings(ca_text, cert_text, key_text is not None)


def _limits(value: object) -> ConnectionLimits | None:
    path = "Stepline.Limits"
    body = structure(value, path, frozenset({"RatePerSecond", "Burst", "MaxConcurrency"}))
    rate = body.get("RatePerSecond")
    if rate is not None and (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 < rate <= 1_000_000
    ):
        fail(join(path, "RatePerSecond"), "must be a number above 0 and at most 1000000")
    burst = _positive_int(body.get("Burst"), join(path, "Burst"))
    if burst is not None and rate is None:
        fail(join(path, "Burst"), "needs RatePerSecond (it sizes the rate limit's bucket)")
    concurrency = _positive_int(body.get("MaxConcurrency"), join(path, "MaxConcurrency"))
    if rate is None and concurrency is None:
        return None
    return ConnectionLimits(None if rate is None else float(rate), burst, concurrency)


def _positive_int(value: object, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        fail(path, "must be a whole number from 1 to 1000000")
    return value
