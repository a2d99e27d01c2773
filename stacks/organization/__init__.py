"""The organization stacks: `org` (management account), `log-archive`, `security`."""
