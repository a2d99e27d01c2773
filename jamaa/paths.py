"""Where the repository's parts are: the one module that knows the checkout's layout.

Jamaa runs from its checkout (`pip install -e .`, as `make setup` does): the playbooks, the roles, the
control catalogue and the environments are files beside the package, not package data.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANSIBLE_CFG = REPO / "ansible.cfg"
ENVIRONMENTS = REPO / "environments"
PLAYBOOKS = REPO / "playbooks"
SITE = PLAYBOOKS / "site.yml"
ROLES = REPO / "roles"
POLICIES = REPO / "policies"
# The control catalogue also ships inside the package (jamaa/catalogue_controls, jamaa/frameworks.yaml: links
# to policies/ in the checkout, the files themselves in a built wheel), so an installed package without
# the checkout (the policy pack's requirement, a deploy job) has it; in the checkout this resolves to
# policies/controls.
CONTROLS = (Path(__file__).resolve().parent / "catalogue_controls").resolve()
OUT = REPO / "out"
