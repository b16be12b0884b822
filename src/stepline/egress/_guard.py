"""The egress rules: which destinations stepline may send a request to.

A destination — scheme, host, port and the addresses the host resolves to — is allowed when:

1. the scheme is ``http`` or ``https`` (nothing else, ever), and
2. a host-name rule of ``STEPLINE_HTTP_ALLOW`` covers the host (and port), or every address is
   either covered by a network rule of ``STEPLINE_HTTP_ALLOW`` or — for ``https`` only — a
   public address.

So by default only public HTTPS is reachable: no loopback, private networks, link-local (the
cloud metadata service at 169.254.169.254), carrier-grade NAT, multicast, reserved or
documentation ranges, in IPv4 or IPv6, and no IPv6 form that embeds such an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, NAT64). Plain ``http://`` is reachable only for allowed
destinations.

The check runs on the addresses the connection is then made to (see
:mod:`stepline.egress._aiohttp`), so a name that resolves to a public address when checked and
to a private one when connecting (DNS rebinding) cannot slip through.

Refusal messages name ``scheme://host:port`` — never the path or query — the rule that refused,
and the ``STEPLINE_HTTP_ALLOW`` entry that would allow the destination.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

from stepline.egress._messages import EgressRefused
from stepline.egress._settings import ALLOW_ENV, AllowRule

__all__ = ["ALLOWED_SCHEMES", "EgressGuard", "IPAddress", "non_public_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES: Final = frozenset({"http", "https"})

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

_METADATA_V4: Final = ipaddress.IPv4Address("169.254.169.254")

# Ordered: the first network that contains an address names why it is not public.
_NON_PUBLIC_V4: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = (
    (_V4("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "a reserved (IETF protocol assignment) address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a reserved (6to4 relay) address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a reserved (benchmarking) address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved or broadcast address"),
)

# Checked after the forms that embed an IPv4 address have been unwrapped.
_NON_PUBLIC_V6: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = (
    (_V6("::/128"), "the unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001::/32"), "a Teredo tunnel address"),
    (_V6("2001::/23"), "a reserved (IETF protocol assignment) address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("5f00::/16"), "a reserved (segment routing) address"),
    (_V6("fc00::/7"), "a private (unique local) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)
# Global unicast space; anything outside it (and not listed above) is reserved.
_GLOBAL_UNICAST_V6: Final = _V6("2000::/3")
_V4_COMPATIBLE: Final = _V6("::/96")
_NAT64: Final = _V6("64:ff9b::/96")
_SIX_TO_FOUR: Final = _V6("2002::/16")


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public address, or ``None`` when it is public.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``) are judged by that address.

    Args:
        address: The address to classify.

    Returns:
        A phrase for a message ("a private address"), or ``None``.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_reason(address)
    if address.scope_id:
        address = ipaddress.IPv6Address(address.packed)
    embedded = _embedded_v4(address)
    if embedded is not None:
        reason = _v4_reason(embedded)
        return None if reason is None else f"{reason} ({embedded}) in IPv6 form"
    for network, reason in _NON_PUBLIC_V6:
        if address in network:
            return reason
    if address not in _GLOBAL_UNICAST_V6:
        return "a reserved address"
    return None


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    if address == _METADATA_V4:
        return "the link-local cloud metadata address"
    for network, reason in _NON_PUBLIC_V4:
        if address in network:
            return reason
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    mapped = address.ipv4_mapped
    if mapped is not None:
        return mapped
    if address in _V4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour  # None outside 2002::/16


def _unwrap_mapped(address: IPAddress) -> IPAddress:
    # ::ffff:a.b.c.d is the IPv4 host a.b.c.d for allow rules too.
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return mapped
    return address


def format_origin(scheme: str, host: str, port: int | None) -> str:
    """``scheme://host:port`` for messages, IPv6 hosts in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port is None else f"{scheme}://{shown}:{port}"


class EgressGuard:
    """Decides whether a destination may be reached, given the allow rules.

    Args:
        rules: The ``STEPLINE_HTTP_ALLOW`` rules.
    """

    __slots__ = ("_host_rules", "_network_rules", "rules")

    def __init__(self, rules: Iterable[AllowRule] = ()) -> None:
        self.rules: tuple[AllowRule, ...] = tuple(rules)
        self._host_rules = tuple(rule for rule in self.rules if rule.host is not None)
        self._network_rules = tuple(rule for rule in self.rules if rule.network is not None)

    def check_scheme(
        self, scheme: str, host: str, port: int | None, *, literal: bool = False
    ) -> None:
        """Refuse any scheme other than ``http`` and ``https``, and plain HTTP no rule allows.

        Plain ``http://`` needs an allow rule. With no network rule at all and no host rule
        covering the host, no address the host could resolve to would be allowed, so the
        request is refused here, before any DNS lookup: a lookup would tell the resolver the
        name, and a failed one would turn a configuration mistake into a socket error that a
        ``Retry`` would repeat.

        Args:
            scheme: The URL's scheme.
            host: The URL's host (IDNA-encoded; an IP literal without brackets).
            port: The port, when known.
            literal: True when ``host`` is an IP literal (only changes the message).

        Raises:
            EgressRefused: The scheme is not supported, or plain HTTP cannot be allowed.
        """
        if scheme not in ALLOWED_SCHEMES:
            raise EgressRefused(
                f"Refused to send a request to {format_origin(scheme, host, port)}: the "
                f"scheme {scheme!r} is not supported; use an https:// URL (or http:// for a "
                f"destination listed in {ALLOW_ENV})."
            )
        if (
            scheme == "http"
            and port is not None
            and not self._network_rules
            and not self.host_allowed(host, port)
        ):
            raise EgressRefused(self._http_refusal(host, port, literal=literal))

    def host_allowed(self, host: str, port: int) -> bool:
        """Whether a host-name rule covers ``host`` on ``port`` (the addresses do not matter).

        Args:
            host: The URL's host, ASCII (IDNA-encoded).
            port: The port.
        """
        if not self._host_rules:
            return False
        name = _normalise_host(host)
        return any(rule.matches_host(name, port) for rule in self._host_rules)

    def check(
        self,
        scheme: str,
        host: str,
        port: int,
        addresses: Sequence[IPAddress],
        *,
        literal: bool = False,
    ) -> None:
        """Allow the destination or raise :class:`EgressRefused`.

        Args:
            scheme: ``http`` or ``https`` (anything else is refused).
            host: The URL's host (IDNA-encoded; an IP literal without brackets).
            port: The port the connection goes to.
            addresses: Every address the host resolves to (the literal itself for an IP).
            literal: True when ``host`` is an IP literal (only changes the message).

        Raises:
            EgressRefused: The destination is not allowed; the message says why and how to
                allow it.
        """
        self.check_scheme(scheme, host, port, literal=literal)
        if self.host_allowed(host, port):
            return
        if not addresses:
            raise EgressRefused(
                f"Refused to send a request to {format_origin(scheme, host, port)}: the host "
                "resolved to no address."
            )
        for address in addresses:
            unwrapped = _unwrap_mapped(address)
            if any(rule.matches_address(unwrapped, port) for rule in self._network_rules):
                continue
            if scheme != "https":
                raise EgressRefused(self._http_refusal(host, port, literal=literal))
            reason = non_public_reason(unwrapped)
            if reason is not None:
                raise EgressRefused(
                    self._address_refusal(scheme, host, port, address, reason, literal=literal)
                )

    def _http_refusal(self, host: str, port: int, *, literal: bool) -> str:
        return (
            f"Refused to send a request to {format_origin('http', host, port)}: plain http:// "
            f"is allowed only to destinations listed in {ALLOW_ENV}. Use https://, or allow "
            f"this destination, for example {ALLOW_ENV}={_suggested_entry(host, port, literal)}."
        )

    def _address_refusal(
        self,
        scheme: str,
        host: str,
        port: int,
        address: IPAddress,
        reason: str,
        *,
        literal: bool,
    ) -> str:
        where = f"it is {reason}" if literal else f"it resolves to {address}, {reason}"
        return (
            f"Refused to send a request to {format_origin(scheme, host, port)}: {where}; "
            f"only public addresses are reachable by default. If this destination is meant to "
            f"be reachable, allow it, for example {ALLOW_ENV}="
            f"{_suggested_entry(host, port, literal)}."
        )


def _normalise_host(host: str) -> str:
    name = host.lower()
    return name[:-1] if name.endswith(".") else name


def _suggested_entry(host: str, port: int, literal: bool) -> str:
    if literal and ":" in host:
        return f"[{host}]:{port}"
    return f"{_normalise_host(host)}:{port}"
