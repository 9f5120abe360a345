"""The engine's own stage helpers (engine layer): the release stage that writes a run's
outputs into its staging folder, the stage timer, and the dry run."""
