"""Policy-as-code: the model, the YAML loader, explanations and the JSON Schema."""

from privacy_profile.policy.loader import LoadedPolicy, load_policy, load_policy_file
from privacy_profile.policy.model import Policy

__all__ = ["LoadedPolicy", "Policy", "load_policy", "load_policy_file"]
