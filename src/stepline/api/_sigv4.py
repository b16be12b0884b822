"""AWS Signature Version 4 verification of inbound requests (``STEPLINE_AUTH=sigv4``).

The server recomputes the signature the client made: the canonical request (method, path,
sorted query, the signed headers trimmed and lower-cased, the payload's SHA-256), the string to
sign over the credential scope, and the HMAC chain from the configured secret. Any region is
accepted; the scope's service must be the one the request addresses (``states``, ``events``,
``iam``), and ``X-Amz-Date`` must be within 15 minutes of the server's clock. Secrets live in
:class:`~stepline._secret.Secret` and appear in no message or log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal
from urllib.parse import quote, unquote

from stepline._secret import Secret

__all__ = [
    "AuthFailure",
    "CredentialScope",
    "SigV4Verifier",
    "VerifiedCaller",
    "auth_from_env",
    "parse_access_keys",
    "parse_credential_scope",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"
_MAX_CACHED_KEYS: Final = 1024

AuthFailureKind = Literal["missing", "incomplete", "unknown_key", "signature", "expired"]


class AuthFailure(Exception):
    """A request that failed authentication; the wire layer renders it per protocol.

    Attributes:
        kind: ``missing`` (no Authorization), ``incomplete`` (malformed Authorization),
            ``unknown_key`` (access key not configured), ``signature`` (mismatch or wrong
            scope), ``expired`` (clock skew over the limit).
        detail: The message for the caller, without secrets; empty for AWS's standard one.
    """

    def __init__(self, kind: AuthFailureKind, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CredentialScope:
    """The ``Credential=`` part of a SigV4 Authorization header."""

    access_key_id: str
    date: str
    region: str
    service: str


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    """Who signed a request that verified."""

    access_key_id: str
    region: str


def parse_credential_scope(authorization: str) -> CredentialScope | None:
    """The credential scope of an Authorization header, without verifying anything.

    Args:
        authorization: The header's value.

    Returns:
        The scope, or None when the header is not a well-formed SigV4 one.
    """
    start = authorization.find("Credential=")
    if start < 0:
        return None
    end = authorization.find(",", start)
    credential = authorization[start + 11 : end if end >= 0 else None].strip()
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        return None
    return CredentialScope(parts[0], parts[1], parts[2], parts[3])


class SigV4Verifier:
    """Verifies SigV4 header signatures against configured access keys.

    Args:
        access_keys: Secret access keys by access key id.
        max_skew: How far ``X-Amz-Date`` may be from the server's clock.
        clock: Seconds since the epoch (tests pass their own).
    """

    def __init__(
        self,
        access_keys: Mapping[str, Secret],
        *,
        max_skew: timedelta = timedelta(minutes=15),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not access_keys:
            raise ValueError("SigV4 verification needs at least one access key.")
        self._keys = dict(access_keys)
        self._max_skew = max_skew.total_seconds()
        self._clock = clock
        self._signing_keys: dict[tuple[str, str, str, str], bytes] = {}

    def __repr__(self) -> str:
        return f"SigV4Verifier({len(self._keys)} access keys)"

    def verify(
        self,
        *,
        service: str,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
    ) -> VerifiedCaller:
        """Verify one request.

        Args:
            service: The signing name the request addresses (``states``, ``events``, ``iam``).
            method: The HTTP method.
            raw_path: The path as sent (still percent-encoded).
            query_string: The query string as sent.
            headers: The request headers (ASGI form: lower-case names, raw bytes).
            body: The whole request body.

        Returns:
            The verified caller.

        Raises:
            AuthFailure: The request is not signed, or not signed right.
        """
        values: dict[str, list[str]] = {}
        for name, value in headers:
            values.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        authorization = values.get("authorization", [""])[0]
        if not authorization:
            raise AuthFailure("missing")
        credential, signed_headers, signature = _parse_authorization(authorization)
        scope = parse_credential_scope(f"Credential={credential}")
        if scope is None:
            raise AuthFailure(
                "incomplete",
                "Authorization header's Credential must be "
                "'<access key id>/<yyyymmdd>/<region>/<service>/aws4_request'.",
            )
        amz_date = values.get("x-amz-date", [""])[0]
        if not amz_date:
            raise AuthFailure(
                "incomplete", "Authorization header requires existence of a 'X-Amz-Date' header."
            )
        signed_at = _parse_amz_date(amz_date)
        if scope.date != amz_date[:8]:
            raise AuthFailure(
                "signature",
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{scope.date}' != '{amz_date[:8]}', from '{amz_date}'.",
            )
        if scope.service != service:
            raise AuthFailure(
                "signature", f"Credential should be scoped to correct service: '{service}'."
            )
        secret = self._keys.get(scope.access_key_id)
        if secret is None:
            raise AuthFailure("unknown_key")
        self._check_clock(signed_at)
        names = signed_headers.split(";")
        if "host" not in names:
            raise AuthFailure(
                "signature", "'Host' must be a 'SignedHeader' in the AWS Authorization."
            )
        payload_hash = self._payload_hash(values, body)
        canonical = "\n".join(
            (
                method.upper(),
                canonical_path(raw_path),
                canonical_query(query_string),
                "".join(f"{name}:{_header_text(values.get(name, ()))}\n" for name in names),
                signed_headers,
                payload_hash,
            )
        )
        scope_text = f"{scope.date}/{scope.region}/{scope.service}/aws4_request"
        string_to_sign = (
            f"{ALGORITHM}\n{amz_date}\n{scope_text}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        key = self._signing_key(scope, secret)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise AuthFailure("signature")
        return VerifiedCaller(scope.access_key_id, scope.region)

    def _check_clock(self, signed_at: float) -> None:
        now = self._clock()
        if signed_at < now - self._max_skew:
            raise AuthFailure(
                "expired",
                f"Signature expired: {_amz(signed_at)} is now earlier than "
                f"{_amz(now - self._max_skew)} ({_amz(now)} - 15 min.)",
            )
        if signed_at > now + self._max_skew:
            raise AuthFailure(
                "expired",
                f"Signature not yet current: {_amz(signed_at)} is still later than "
                f"{_amz(now + self._max_skew)} ({_amz(now)} + 15 min.)",
            )

    @staticmethod
    def _payload_hash(values: Mapping[str, list[str]], body: bytes) -> str:
        actual = hashlib.sha256(body).hexdigest()
        declared = values.get("x-amz-content-sha256", [""])[0]
        if not declared:
            return actual
        if declared == UNSIGNED_PAYLOAD:
            return declared
        if declared.lower() != actual:
            raise AuthFailure(
                "signature",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        return declared

    def _signing_key(self, scope: CredentialScope, secret: Secret) -> bytes:
        cache_key = (scope.access_key_id, scope.date, scope.region, scope.service)
        key = self._signing_keys.get(cache_key)
        if key is None:
            key = ("AWS4" + secret.reveal()).encode()
            for part in (scope.date, scope.region, scope.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            if len(self._signing_keys) >= _MAX_CACHED_KEYS:
                self._signing_keys.clear()
            self._signing_keys[cache_key] = key
        return key


def canonical_path(raw_path: bytes) -> str:
    """The canonical URI: dot segments and empty segments removed, then URI-encoded again."""
    path = raw_path.decode("latin-1")
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and segments else ""
    return quote(first + "/".join(segments) + last, safe="/~")


def canonical_query(query_string: bytes) -> str:
    """The canonical query string: each name and value re-encoded, pairs sorted."""
    if not query_string:
        return ""
    pairs = []
    for pair in query_string.decode("latin-1").split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _header_text(values: Sequence[str]) -> str:
    return ",".join(" ".join(value.split()) for value in values)


def _parse_authorization(authorization: str) -> tuple[str, str, str]:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure(
            "incomplete",
            f"Unsupported Authorization algorithm; sign requests with {ALGORITHM} (SigV4).",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value.strip()
    missing = [
        name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)
    ]
    if missing:
        raise AuthFailure(
            "incomplete",
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing),
        )
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def _parse_amz_date(text: str) -> float:
    try:
        return datetime.strptime(text, _DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise AuthFailure(
            "incomplete",
            "X-Amz-Date must be an ISO 8601 basic time like 20240101T120000Z.",
        ) from None


def _amz(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(_DATE_FORMAT)


def parse_access_keys(text: str, source: str) -> dict[str, Secret]:
    """Parse ``ID:SECRET`` entries separated by commas or newlines (``#`` starts a comment).

    Args:
        text: The entries.
        source: Where they came from, for messages (never the text itself).

    Returns:
        Secrets by access key id.

    Raises:
        ValueError: A malformed entry (the message names its position, not its content).
    """
    keys: dict[str, Secret] = {}
    entries = [
        entry.strip()
        for line in text.splitlines()
        for entry in line.split("#", 1)[0].split(",")
        if entry.strip()
    ]
    for position, entry in enumerate(entries, 1):
        access_key_id, separator, secret = entry.partition(":")
        access_key_id, secret = access_key_id.strip(), secret.strip()
        if not separator or not access_key_id or not secret or " " in access_key_id:
            raise ValueError(
                f"Access key entry {position} in {source} is not 'ACCESS_KEY_ID:SECRET'; write "
                "each key as its id, a colon and its secret, entries separated by commas or "
                "new lines."
            )
        if access_key_id in keys:
            raise ValueError(
                f"Access key entry {position} in {source} repeats an access key id; "
                "give each key once."
            )
        keys[access_key_id] = Secret(secret)
    return keys


def auth_from_env(environ: Mapping[str, str] | None = None) -> SigV4Verifier | None:
    """The authentication ``STEPLINE_AUTH`` asks for.

    ``STEPLINE_AUTH`` unset, empty or ``none``: no authentication (None). ``sigv4``: a verifier
    over the keys in ``STEPLINE_ACCESS_KEYS`` (``ID:SECRET,ID:SECRET``) and/or the file named by
    ``STEPLINE_ACCESS_KEYS_FILE`` (one ``ID:SECRET`` per line).

    Args:
        environ: The environment (``os.environ`` by default).

    Returns:
        The verifier, or None for no authentication.

    Raises:
        ValueError: An unknown mode, missing or malformed keys, an unreadable key file.
    """
    env = os.environ if environ is None else environ
    mode = env.get("STEPLINE_AUTH", "").strip().lower()
    if mode in ("", "none"):
        return None
    if mode != "sigv4":
        raise ValueError("STEPLINE_AUTH must be 'sigv4' or 'none' (the default).")
    keys: dict[str, Secret] = {}
    inline = env.get("STEPLINE_ACCESS_KEYS", "")
    if inline.strip():
        keys.update(parse_access_keys(inline, "STEPLINE_ACCESS_KEYS"))
    file_name = env.get("STEPLINE_ACCESS_KEYS_FILE", "").strip()
    if file_name:
        path = Path(file_name).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(
                f"Cannot read STEPLINE_ACCESS_KEYS_FILE {str(path)!r}: {exc.strerror}; "
                "point it at a readable file of 'ACCESS_KEY_ID:SECRET' lines."
            ) from None
        for access_key_id, secret in parse_access_keys(text, str(path)).items():
            if access_key_id in keys:
                raise ValueError(
                    f"An access key id is configured in both STEPLINE_ACCESS_KEYS and {path}; "
                    "give each key once."
                )
            keys[access_key_id] = secret
    if not keys:
        raise ValueError(
            "STEPLINE_AUTH=sigv4 needs access keys: set STEPLINE_ACCESS_KEYS="
            "'ID:SECRET[,ID:SECRET...]' or STEPLINE_ACCESS_KEYS_FILE to a file of "
            "'ID:SECRET' lines."
        )
    return SigV4Verifier(keys)
