"""Individuals' rights: access, correction, erasure and opt-out, end to end and on the record.

PIPL arts. 44-47 and GDPR arts. 15-21 let a person see, correct and delete what a business
holds about them and refuse personalised marketing. This package answers such requests for
what privacy_profile wrote, without ever storing the person's raw id (see docs/rights.md):

* :class:`RightsRegister` (:mod:`.register`): requests with received time and due date, the
  subject's keyed pseudonyms and digests, every step on the hash-chained run log;
* :func:`process_request` (:mod:`.fulfil`): access export (:mod:`.access`), erasure
  (:mod:`.erasure`), opt-out, correction (:mod:`.correction`);
* :class:`SuppressionList` (:mod:`.suppression`): what later runs apply before anything else
  (``suppression=register.suppression()``).
"""

from privacy_profile.rights.access import DP_EXPLANATION, AccessExport
from privacy_profile.rights.correction import Correction, parse_corrections
from privacy_profile.rights.fulfil import Outcome, process_request
from privacy_profile.rights.identity import SubjectIdentity, identify
from privacy_profile.rights.register import (
    RequestKind,
    RightsRegister,
    RightsRequest,
    format_status,
    load_suppression,
    read_register_requests,
)
from privacy_profile.rights.suppression import ALL_PURPOSES, Scope, SuppressionList

__all__ = [
    "ALL_PURPOSES",
    "DP_EXPLANATION",
    "AccessExport",
    "Correction",
    "Outcome",
    "RequestKind",
    "RightsRegister",
    "RightsRequest",
    "Scope",
    "SubjectIdentity",
    "SuppressionList",
    "format_status",
    "identify",
    "load_suppression",
    "parse_corrections",
    "process_request",
    "read_register_requests",
]
