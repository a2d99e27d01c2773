"""`jamaa report --env ENV [--out DIR]`: the auditors' evidence report of one environment.

Three evidence sources: the offline policy check of the environment's stacks (the engine, in this
process), the baseline's host results (`out/verify/ENV/results.json`), and the post-deploy audit of its
accounts (`out/audit/ENV/*.json`); then the sections of `jamaa.report.sections.SECTIONS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jamaa.clikit import fails_cleanly
from jamaa.controls import load_catalogue
from jamaa.errors import ConfigError
from jamaa.paths import REPO
from jamaa.report.model import Report, Source, build_report
from jamaa.report.render import write_report
from jamaa.report.sections import SECTIONS
from jamaa.report.sources import audit_evidence, policy_evidence, stacks_of
from jamaa.results import Result
from jamaa.verify.results import RunResults
from jamaa.waivers import load_waivers

console = Console()


def make_report(
    env: str,
    environments: Path = Path("environments"),
    results_path: Path | None = None,
    policy: bool = True,
    catalogue_root: Path | None = None,
) -> Report:
    env_dir = environments / env
    if not env_dir.is_dir():
        raise ConfigError([f"{env_dir}: --env: no such environment directory"])
    catalogue = load_catalogue(catalogue_root or REPO / "policies" / "controls")
    waivers = load_waivers(env_dir, catalogue.controls)
    sources = Source(
        waivers_file=str(env_dir / "waivers.yaml") if (env_dir / "waivers.yaml").exists() else None
    )
    explicit = results_path is not None
    results_path = results_path or REPO / "out" / "verify" / env / "results.json"
    results: RunResults | None = None
    if results_path.exists() or explicit:
        results = RunResults.read(results_path)
        sources.verify_results = str(results_path)
        sources.verify_started = results.started
        sources.verify_wall_s = results.wall_s
    policy_results: list[Result] = []
    if policy:
        pack_config = env_dir / "policy-config.json"
        evidence = policy_evidence(stacks_of(env), pack_config if pack_config.is_file() else None)
        policy_results = evidence.results
        sources.policy_stacks = evidence.stacks
        sources.policy_errors = evidence.errors
        sources.policy_deviations = evidence.deviations
    audit_results, sources.audit_files = audit_evidence(env)
    return build_report(
        env,
        catalogue,
        results,
        policy_results,
        waivers,
        sources,
        REPO,
        audit_results=audit_results,
        sections=SECTIONS,
    )


def report(
    env: Annotated[str, typer.Option("--env", help="environment name (a directory of environments/)")],
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out/report"),
    environments: Annotated[Path, typer.Option(help="environments directory")] = Path("environments"),
    results: Annotated[
        Path | None, typer.Option(help="baseline results JSON (default out/verify/ENV/results.json)")
    ] = None,
    policy: Annotated[bool, typer.Option(help="run the offline policy check of the env's stacks")] = True,
    screenshot: Annotated[
        bool | None,
        typer.Option(
            "--screenshot/--no-screenshot",
            help="save a PNG of the page (headless Chromium; default: if installed)",
        ),
    ] = None,
    catalogue: Annotated[Path | None, typer.Option(help="control catalogue directory")] = None,
) -> None:
    """Render the evidence report (HTML + JSON) of ENV for auditors."""
    data = make_report(env, environments, results, policy, catalogue)
    html, json_path = write_report(data, out)
    counts = data.summary.controls
    console.print(
        f"{html}\n{json_path}\n"
        + ", ".join(f"{name}: {number}" for name, number in counts.items())
        + (
            f"\npolicy check problems: {len(data.sources.policy_errors)}"
            if data.sources.policy_errors
            else ""
        )
    )
    from jamaa.report.browser import chromium_path
    from jamaa.report.browser import screenshot as take

    if screenshot or (screenshot is None and chromium_path() is not None):
        console.print(str(take(html, out / f"report-{env}.png")))


def register(app: typer.Typer) -> None:
    app.command("report")(fails_cleanly(report))
