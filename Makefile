# Jamaa — every set-up step lives here so a fresh Debian machine (as root) needs only `make test` / `make lab`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the lab and the tests use (see ../shared/LAB-NOTES.md). cloud-init is only there for its
# schema check of the user-data document: /etc/cloud/cloud-init.disabled keeps it from ever running on this machine.
APT_PACKAGES := debootstrap systemd-container slirp4netns socat netcat-openbsd iproute2 openssh-client \
	qemu-system-x86 qemu-utils e2fsprogs vde2 restic nftables nmap ssh-audit chromium \
	cloud-init cloud-image-utils lynis
APT_STAMP := .cache/apt-$(shell echo $(APT_PACKAGES) | md5sum | cut -c1-12).stamp
VENV_STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | md5sum | cut -c1-12)

.PHONY: setup setup-runtime apt test lint unit hosts lab clean-lab

# Everything the tests, the lab and the linters need (runtime + `lab` + `dev` extras of pyproject.toml).
setup: $(VENV_STAMP)

# The runtime only (pulumi up, ansible-playbook, jamaa verify / audit): what deploy jobs install.
setup-runtime:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e .

$(VENV_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

apt: $(APT_STAMP)

$(APT_STAMP):
	@if [ "$$(id -u)" != 0 ]; then echo "make apt: must run as root (apt-get install)" >&2; exit 2; fi
	missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	mkdir -p .cache && touch $@

# ruff's paths (roles/: the backup tool, pyproject's extend-include); mypy's are [tool.mypy] files.
lint: setup
	$(BIN)/ruff check jamaa tests stacks policies bench plugins roles
	$(BIN)/ruff format --check jamaa tests stacks policies bench plugins roles
	$(BIN)/mypy
	$(BIN)/python -m jamaa.secretscan

unit: setup
	$(BIN)/pytest -q -m 'not lab' tests

# Host suites (pytest -m lab), run IN THIS ORDER as separate pytest runs on ONE lab: the first suite's
# `lab` fixture (tests/conftest.py) brings it up, later ones find it up. A part with host tests appends
# its path here, in its place (lab smoke → roles → rollback faults → drift → backups → baseline); a
# path listed here must exist (pytest fails on a missing one). LAB_TEARDOWN always runs last, whatever
# happened before: it takes the lab down and checks nothing is left behind.
LAB_SUITES := tests/lab/test_lab_up.py tests/roles tests/rollback tests/drift tests/backup/test_backup_converge.py \
	tests/backup/test_backup_lab.py tests/backup/test_rotate_secrets.py tests/verify tests/delivery
LAB_TEARDOWN := tests/lab/test_zz_lab_down.py

hosts: setup apt
	@rc=0; for suite in $(LAB_SUITES); do \
	  echo "hosts: pytest -m lab $$suite"; \
	  $(BIN)/pytest -q -m lab "$$suite"; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "hosts: $$suite: no lab tests"; elif [ $$code -ne 0 ]; then rc=1; fi; \
	done; \
	echo "hosts: pytest -m lab $(LAB_TEARDOWN)"; $(BIN)/pytest -q -m lab $(LAB_TEARDOWN) || rc=1; \
	exit $$rc

test: setup apt lint unit hosts

# The main job: the whole chain on the lab (validate → plan → policy → lab up → site.yml → baseline →
# report); the lab stays up afterwards (`make clean-lab` or `jamaa lab down`).
lab: setup apt
	$(BIN)/jamaa lab run

clean-lab: setup
	$(BIN)/jamaa lab down
