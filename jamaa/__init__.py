"""Jamaa: infrastructure as code for Morocco's communes (Digital Morocco 2030)."""

__version__ = "0.1.0"
