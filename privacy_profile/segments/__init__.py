"""Segments and personas released only through the DP core (see docs/segments.md).

Per-pseudonym features stay inside; RFM-8 classes, DP k-means clusters, lifecycle stages,
rule segments, a DP decision tree and personas are released as group-level DP tables.
"""

from privacy_profile.policy.releases import ReleaseId, SegmentFamily
from privacy_profile.policy.segmentation import SegmentationSpec
from privacy_profile.segments.build import (
    FLAGS_TABLE,
    OPT_OUT_COLUMN,
    SegmentRelease,
    Tokenizer,
    build_segments,
    check_against_policy,
)
from privacy_profile.segments.features import (
    FeatureColumns,
    FeatureParams,
    UnitFeatures,
    compute_features,
)
from privacy_profile.segments.lifecycle import LIFECYCLE_STAGES, assign_lifecycle
from privacy_profile.segments.outputs import write_audiences
from privacy_profile.segments.rfm import RFM_CLASSES, assign_rfm
from privacy_profile.segments.rules import evaluate_rule, parse_rule

__all__ = [
    "FLAGS_TABLE",
    "LIFECYCLE_STAGES",
    "OPT_OUT_COLUMN",
    "RFM_CLASSES",
    "FeatureColumns",
    "FeatureParams",
    "ReleaseId",
    "SegmentFamily",
    "SegmentRelease",
    "SegmentationSpec",
    "Tokenizer",
    "UnitFeatures",
    "assign_lifecycle",
    "assign_rfm",
    "build_segments",
    "check_against_policy",
    "compute_features",
    "evaluate_rule",
    "parse_rule",
    "write_audiences",
]
