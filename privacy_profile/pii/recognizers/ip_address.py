"""IP_ADDRESS: IPv4 (octets 0-255) and IPv6 (validated by :mod:`ipaddress`)."""

from __future__ import annotations

import ipaddress
from typing import ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


class IpAddressRecognizer(ContextPatternRecognizer):
    """Dotted quads not inside longer dotted numbers (versions 1.2.3.4.5); IPv6 with 2+ colons."""

    ENTITY = "IP_ADDRESS"
    PREFILTER = r"[0-9]\.[0-9]|:[0-9A-Fa-f]{0,4}:"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        (
            "ipv4",
            rf"(?<![0-9.])(?P<v>{_OCTET}(?:\.{_OCTET}){{3}})(?![0-9]|\.[0-9])",
            0.6,
        ),
        (
            "ipv6",
            r"(?<![0-9A-Fa-f:])(?P<v>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
            r"(?:%[A-Za-z0-9]+)?)(?![0-9A-Fa-f:])",
            0.6,
        ),
    )
    CONTEXT = ("ip", "ip地址", "地址", "address", "host", "登录")

    def validate_result(self, pattern_text: str) -> bool | None:
        if pattern_text.count(":") < 2:
            return True  # IPv4: the octet pattern is the check
        if "::" not in pattern_text and pattern_text.count(":") != 7:
            return False
        try:
            ipaddress.IPv6Address(pattern_text.split("%", 1)[0])
        except ValueError:
            return False
        return True
