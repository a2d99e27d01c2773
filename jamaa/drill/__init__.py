"""Backups seen from the controller: the lab's bucket and secrets, restore drills, their results.

- `lab.py`: the lab's backup bucket (versioning + Object Lock, COMPLIANCE default retention) created with
  admin credentials, and the servers' secrets as an Ansible Vault file outside the repository.
- `runner.py`: `jamaa drill --env ENV` runs playbooks/restore_drill.yml and aggregates each host's result
  (RPO, RTO, sizes, verification) into `out/drill/ENV/results.json`, which the evidence report reads.
- `results.py`: the results model and the report's backup-drill section.
"""
