"""Egress settings: which destinations are allowed beyond the default, and the exchange limits.

By default stepline reaches only public HTTPS destinations (see :mod:`stepline.egress._guard`).
An operator widens that with ``STEPLINE_HTTP_ALLOW``, a comma-separated list of entries:

* a host name, ``api.internal`` (exact, case-insensitive), or ``*.internal`` (any sub-domain);
* an IP address, ``10.0.0.5`` or ``::1``;
* a network, ``10.0.0.0/8`` or ``fd00::/8``;
* any of these followed by ``:PORT`` to allow only that port: ``api.internal:8443``,
  ``10.0.0.0/8:8080``, ``[::1]:8080``, ``[fd00::/8]:443``.

An allowed destination may also be reached over plain ``http://``. The other limits keep AWS's
values as defaults: a 60-second exchange and a 256 KiB response window.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ALLOW_ENV",
    "MAX_CONNECTIONS_PER_HOST_ENV",
    "RESPONSE_WINDOW_ENV",
    "TIMEOUT_ENV",
    "AllowRule",
    "EgressSettings",
    "parse_allow",
]

ALLOW_ENV: Final = "STEPLINE_HTTP_ALLOW"
TIMEOUT_ENV: Final = "STEPLINE_HTTP_TIMEOUT_SECONDS"
RESPONSE_WINDOW_ENV: Final = "STEPLINE_HTTP_RESPONSE_WINDOW_BYTES"
MAX_CONNECTIONS_PER_HOST_ENV: Final = "STEPLINE_HTTP_MAX_CONNECTIONS_PER_HOST"

ACCEPTED_FORMS: Final = (
    "accepted forms: a host name (api.example.com), a sub-domain wildcard (*.example.com), "
    "an IP address (10.0.0.5, ::1), a network (10.0.0.0/8, fd00::/8), "
    "each optionally followed by :PORT to allow only that port "
    "(api.example.com:8443, 10.0.0.0/8:8080, [::1]:8080)"
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One DNS label: letters, digits, hyphens and underscores (service records use them), no
# leading or trailing hyphen.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_BRACKETED = re.compile(r"^\[(?P<inner>[^\]]+)\](?::(?P<port>[^:]*))?$")


@dataclass(frozen=True, slots=True)
class AllowRule:
    """One ``STEPLINE_HTTP_ALLOW`` entry: a host name or a network, optionally one port.

    Exactly one of ``host`` and ``network`` is set.

    Attributes:
        host: A lower-case ASCII host name, or ``*.suffix`` for any sub-domain of ``suffix``.
        network: An IP network; a single address is a ``/32`` or ``/128`` network.
        port: The only port allowed, or ``None`` for every port.
    """

    host: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    def __post_init__(self) -> None:
        if (self.host is None) == (self.network is None):
            raise ValueError("An AllowRule needs exactly one of host and network.")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValueError(f"An AllowRule port must be 1-65535, got {self.port}.")

    @classmethod
    def parse(cls, entry: str) -> AllowRule:
        """Parse one entry such as ``api.example.com:8443`` or ``10.0.0.0/8``.

        Args:
            entry: The entry, without surrounding spaces.

        Raises:
            ValueError: The entry has none of the accepted forms; the message says which.
        """
        rule = _parse_entry(entry.strip())
        if rule is None:
            raise ValueError(f"{entry!r} is not a valid allow entry; {ACCEPTED_FORMS}.")
        return rule

    def matches_host(self, host: str, port: int) -> bool:
        """Whether this is a host-name rule covering ``host`` (lower case, no trailing dot)."""
        rule_host = self.host
        if rule_host is None or (self.port is not None and self.port != port):
            return False
        if rule_host.startswith("*."):
            return host.endswith(rule_host[1:])
        return host == rule_host

    def matches_address(
        self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int
    ) -> bool:
        """Whether this is a network rule covering ``address`` on ``port``."""
        network = self.network
        if network is None or (self.port is not None and self.port != port):
            return False
        if address.version != network.version:
            # An IPv4-mapped IPv6 address is the IPv4 host it embeds.
            mapped = getattr(address, "ipv4_mapped", None)
            return mapped is not None and mapped in network
        return address in network

    def __str__(self) -> str:
        if self.host is not None:
            text = self.host
        else:
            assert self.network is not None
            net = self.network
            single = net.prefixlen == net.max_prefixlen
            text = str(net.network_address) if single else str(net)
            if self.port is not None and net.version == 6:
                return f"[{text}]:{self.port}"
        return text if self.port is None else f"{text}:{self.port}"


def parse_allow(text: str, *, source: str = ALLOW_ENV) -> tuple[AllowRule, ...]:
    """Parse a comma-separated allow list (empty entries are ignored).

    Args:
        text: The list, e.g. ``"127.0.0.0/8, api.internal:8443"``.
        source: What to name in error messages (the environment variable by default).

    Raises:
        ValueError: An entry is malformed; the message names ``source``, the entry and the
            accepted forms.
    """
    rules: list[AllowRule] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        rule = _parse_entry(entry)
        if rule is None:
            raise ValueError(f"{source}: {entry!r} is not a valid entry; {ACCEPTED_FORMS}.")
        if rule not in rules:
            rules.append(rule)
    return tuple(rules)


def _parse_entry(entry: str) -> AllowRule | None:
    if not entry or any(ch.isspace() for ch in entry):
        return None
    bracketed = _BRACKETED.match(entry)
    if bracketed is not None:
        network = _parse_network(bracketed.group("inner"))
        port_text = bracketed.group("port")
        if network is None or network.version != 6:
            return None
        port = None if port_text is None else _parse_port(port_text)
        if port_text is not None and port is None:
            return None
        return AllowRule(network=network, port=port)
    if entry.count(":") >= 2:
        # An unbracketed IPv6 address or network: no port possible.
        network = _parse_network(entry)
        return None if network is None else AllowRule(network=network)
    only_port: int | None = None
    if ":" in entry:
        entry, port_text = entry.split(":", 1)
        only_port = _parse_port(port_text)
        if only_port is None:
            return None
    network = _parse_network(entry)
    if network is not None:
        return AllowRule(network=network, port=only_port)
    if _looks_numeric(entry):
        # "10.0.0.300" or "10.1" is a typo for an address, never a host name.
        return None
    host = _parse_host(entry)
    return None if host is None else AllowRule(host=host, port=only_port)


def _parse_network(text: str) -> IPNetwork | None:
    try:
        # strict=False: "10.0.0.1/8" is read as the network 10.0.0.0/8 it lies in.
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _parse_port(text: str) -> int | None:
    if not text.isascii() or not text.isdigit():
        return None
    port = int(text)
    return port if 1 <= port <= 65535 else None


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(".", "").replace("/", "")
    return stripped.isdigit()


def _parse_host(text: str) -> str | None:
    wildcard = text.startswith("*.")
    name = text[2:] if wildcard else text
    name = name.rstrip(".") if name.endswith(".") and not name.endswith("..") else name
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    name = name.lower()
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return None
    return f"*.{name}" if wildcard else name


@dataclass(frozen=True, slots=True)
class EgressSettings:
    """How stepline reaches the network.

    Attributes:
        allow: Destinations allowed beyond public HTTPS (and allowed over plain HTTP too).
        timeout_seconds: Default limit for one whole exchange (AWS: 60 s, hard).
        response_window_bytes: At most this many body bytes are read; the rest is not
            (AWS asks for ``Range: bytes=0-262144``).
        max_connections_per_host: Connections kept open to one host and port at most; more
            concurrent requests wait for a free one.
    """

    allow: tuple[AllowRule, ...] = ()
    timeout_seconds: float = 60.0
    response_window_bytes: int = 262_144
    max_connections_per_host: int = 100

    def __post_init__(self) -> None:
        if not (self.timeout_seconds > 0 and math.isfinite(self.timeout_seconds)):
            raise ValueError(
                f"timeout_seconds must be a positive number, got {self.timeout_seconds!r}."
            )
        if self.response_window_bytes < 1:
            raise ValueError(
                f"response_window_bytes must be at least 1, got {self.response_window_bytes!r}."
            )
        if self.max_connections_per_host < 1:
            raise ValueError(
                "max_connections_per_host must be at least 1, "
                f"got {self.max_connections_per_host!r}."
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EgressSettings:
        """Read the settings from ``STEPLINE_HTTP_*`` environment variables.

        Variables: ``STEPLINE_HTTP_ALLOW`` (see the module docs),
        ``STEPLINE_HTTP_TIMEOUT_SECONDS`` (positive number),
        ``STEPLINE_HTTP_RESPONSE_WINDOW_BYTES`` (positive integer) and
        ``STEPLINE_HTTP_MAX_CONNECTIONS_PER_HOST`` (positive integer). Unset or empty
        variables keep the defaults.

        Args:
            environ: The environment; ``os.environ`` when ``None``.

        Raises:
            ValueError: A variable holds a bad value; the message names it and the value.
        """
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            allow=parse_allow(env.get(ALLOW_ENV, "")),
            timeout_seconds=_env_number(env, TIMEOUT_ENV, defaults.timeout_seconds),
            response_window_bytes=_env_count(
                env, RESPONSE_WINDOW_ENV, defaults.response_window_bytes
            ),
            max_connections_per_host=_env_count(
                env, MAX_CONNECTIONS_PER_HOST_ENV, defaults.max_connections_per_host
            ),
        )


def _env_number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"{name}: {text!r} is not a valid number of seconds; "
            "use a positive number such as 60 or 2.5."
        )
    return value


def _env_count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{name}: {text!r} is not valid; use a positive whole number.")
    return int(text)
