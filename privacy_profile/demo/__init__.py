"""A seeded, offline generator of a realistic WeChat mini-program shop data set (demo and tests)."""

from privacy_profile.demo.generate import (
    CATEGORIES,
    DEFAULT_NOW,
    EVENT_TYPES,
    GENERATED_COLUMNS,
    ConsentScenario,
    DemoDataset,
    MessyKind,
    PlantedIdentifiers,
    generate_demo_data,
    generate_events_frame,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_NOW",
    "EVENT_TYPES",
    "GENERATED_COLUMNS",
    "ConsentScenario",
    "DemoDataset",
    "MessyKind",
    "PlantedIdentifiers",
    "generate_demo_data",
    "generate_events_frame",
]
