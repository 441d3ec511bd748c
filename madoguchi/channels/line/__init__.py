"""The LINE integration: the only code that imports the LINE SDK (enforced by import-linter)."""
