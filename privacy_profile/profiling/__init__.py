"""Profiling sample files to draft a policy (``privacy-profile init``).

``sample`` reads a bounded head of each file with its encoding detected; ``columns`` profiles a
sampled column (type, distinct-count estimate, null share); ``vocabulary`` holds the bilingual
column-name hints and value words; ``propose`` classifies columns and tables; ``draft`` renders
and writes the reviewed-to-be YAML policy.
"""

from privacy_profile.profiling.draft import PolicyDraft, draft_policy, init_policy
from privacy_profile.profiling.sample import SampledTable, detect_encoding, read_sample

__all__ = [
    "PolicyDraft",
    "SampledTable",
    "detect_encoding",
    "draft_policy",
    "init_policy",
    "read_sample",
]
