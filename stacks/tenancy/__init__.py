"""Jamaa's regional tenancy: one ComponentResource per concern, wired by `stacks/__main__.py`."""
