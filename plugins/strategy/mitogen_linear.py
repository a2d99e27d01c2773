"""Strategy `mitogen_linear` (ansible.cfg): Ansible's linear strategy over Mitogen's connections.

Each task normally costs a new Python on the target that unpacks the module (AnsiballZ): about 5 s per
task on the lab's software-emulated VM, most of a converge. Mitogen keeps one interpreter per host for the
whole play and sends modules over it, with the same task semantics (bench/anchor_bench.py measures it).
The pinned `mitogen` package (pyproject.toml) provides it; `ANSIBLE_STRATEGY=linear` runs without it.
"""

from __future__ import annotations

from ansible.errors import AnsibleError

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError as error:  # an Ansible outside Jamaa's virtualenv or execution environment
    raise AnsibleError(
        f"ansible.cfg: strategy mitogen_linear needs the pinned mitogen package ({error}): install Jamaa "
        "with `pip install -c constraints.txt -e .`, or run with ANSIBLE_STRATEGY=linear"
    ) from error

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
    """Linear, with Mitogen's connection and module execution."""
