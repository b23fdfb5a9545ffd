"""Makes the project's modules (system, scripted) importable from its tests."""
