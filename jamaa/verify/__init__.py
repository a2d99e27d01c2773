"""Verification: run the testinfra baseline against an environment; results JSON + JUnit."""
