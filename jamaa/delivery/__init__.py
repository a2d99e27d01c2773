"""Delivery: the pipeline templates users adopt (GitHub Actions, GitLab CI), generated from environments/.

`jamaa pipelines render` writes `ci-templates/github/jamaa.yml` and `ci-templates/gitlab/.gitlab-ci.yml`
from the stacks `jamaa.config` knows, so the templates never drift from the environments;
`jamaa pipelines render --check` (and tests/delivery) fail when a committed template differs.
"""
