"""The auditors' evidence report: one self-contained HTML page (and JSON) per environment."""
