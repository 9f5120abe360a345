"""Numbers inside machine values (hex digests, UUIDs) are not personal data.

About one SHA-256 digest in 500 holds eleven decimal digits in a row that spell a mainland
mobile number; lineage events carry dozens of digests, so the release guard once refused a
COMPLETE event for a "CN_MOBILE" inside a file's digest (a flaky demo test), and later for a
"PHONE_NUMBER" (00 and a country code) inside a run id. Number recognizers skip matches that
lie inside a digest (32+ hex characters with a letter) or a UUID.
"""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from privacy_profile.pii import PiiScanner
from privacy_profile.pii._checks import in_machine_token

PHONE = "13912345678"
DIGEST = "ab" + PHONE + "c" * 51  # 64 hex characters


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner()


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        (f"sha256:{DIGEST}", []),
        (DIGEST.upper(), []),
        (f"run 01a22a20-fb42-751d-9fe1-a{PHONE}", []),  # last UUID group: 12 hex
        # an international dialling prefix (00) and a code spelled by a UUID's groups: found
        # by the international phone recognizer before it skipped machine values (a lineage
        # event naming a run's folder was refused by chance)
        ("runs/00828369-0781-a395-35fa-450bf8a60f29/marketing", []),
        ("runs/3128e716-0062-0574-4861-1a5094a01de5/marketing", []),
        ("runs/a91a23d9-7372-53c5-83a7-008231027383/marketing", []),
        # still an international number outside a machine value
        ("call 00852 2345 6789 today", ["PHONE_NUMBER"]),
        ("whatsapp +65 8123 4567", ["PHONE_NUMBER"]),
        # still phones: a short hex-looking neighbour, letters outside a-f, separators
        (f"ab{PHONE}", ["CN_MOBILE"]),
        (f"call{PHONE} now", ["CN_MOBILE"]),
        (f"电话{PHONE}", ["CN_MOBILE"]),
        (f"id-{PHONE}-x", ["CN_MOBILE"]),
        (PHONE, ["CN_MOBILE"]),
        # all-digit runs are no digest (a longer number is handled by the number rules)
        (f"{PHONE} " + "1" * 40, ["CN_MOBILE"]),
        # a UUID-like shape with a wrong group length is no UUID
        (f"01a22a20-fb42-751d-9fe1a{PHONE}", ["CN_MOBILE"]),
    ],
)
def test_machine_token_table(scanner: PiiScanner, text: str, entities: list[str]) -> None:
    (found,) = scanner.scan_texts([text])
    assert sorted({f.entity_type for f in found}) == entities


def test_the_rule_itself() -> None:
    text = f"sha256:{DIGEST}"
    start = text.index(PHONE)
    assert in_machine_token(text, start, start + len(PHONE))
    short = f"ab{PHONE}"
    assert not in_machine_token(short, 2, 2 + len(PHONE))
    assert not in_machine_token("电话" + PHONE, 2, 13)


def test_forty_thousand_digests_and_run_ids_yield_no_finding(scanner: PiiScanner) -> None:
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(20_000)]
    ids = [str(uuid.UUID(hex=hashlib.sha256(b"u%d" % i).hexdigest()[:32])) for i in range(20_000)]
    texts = [f"sha256:{d}" for d in digests] + ids
    # without the rule, about 0.2% of these digests are flagged as mobile numbers
    assert sum(1 for d in digests if _holds_a_mobile_shape(d)) > 10
    assert [t for t, found in zip(texts, scanner.scan_texts(texts), strict=True) if found] == []


def _holds_a_mobile_shape(hex_digest: str) -> bool:
    return re.search(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", hex_digest) is not None
