"""Drift detection: what differs from the code on the hosts (check mode) and in the cloud (refreshed
preview), per control id; `jamaa drift --env ENV` and the evidence report's drift section."""
