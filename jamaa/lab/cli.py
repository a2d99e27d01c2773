"""`jamaa lab …`: the image, the hosts, and the whole chain on them (`jamaa lab run`, i.e. `make lab`)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jamaa.clikit import FormatOption, OutputFormat, OutputOption, emit, fails_cleanly
from jamaa.lab.profile import DEFAULT_PROFILE
from jamaa.results import Status

lab_app = typer.Typer(
    name="lab",
    help="A local lab of real Debian hosts (containers, one VM, an attacker, S3) for the whole chain.",
    no_args_is_help=True,
)
# wide enough for the tables in CI logs and `make lab` output when stdout is not a terminal
console = Console(width=None if sys.stdout.isatty() else 160, log_path=False)

ProfileOpt = Annotated[
    str,
    typer.Option("--profile", "-p", help="environments/lab/profile.yaml, or profile.NAME.yaml for NAME"),
]
EnvOpt = Annotated[Path, typer.Option("--environments", help="the environments directory")]


class _Progress:
    """A Rich status line for the long steps, with the time each step started."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.status = console.status("starting")

    def __enter__(self) -> _Progress:
        self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.__exit__(None, None, None)

    def __call__(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        console.log(f"[dim]{elapsed:6.1f}s[/] {message}", highlight=False)
        self.status.update(message)


@lab_app.command("image")
def image_command(
    profile: ProfileOpt = DEFAULT_PROFILE,
    environments: EnvOpt = Path("environments"),
    suite: Annotated[
        str | None, typer.Option(help="override the profile's Debian suite: trixie (13) or bookworm (12)")
    ] = None,
    force: Annotated[bool, typer.Option(help="rebuild even when the cached image is valid")] = False,
    prune: Annotated[bool, typer.Option(help="then remove this suite's older cached images")] = False,
) -> None:
    """Build the lab's Debian image (or find it in the cache, $JAMAA_CACHE or /var/cache/jamaa)."""
    _image(profile, environments, suite, force, prune)


@fails_cleanly
def _image(profile_name: str, environments: Path, suite: str | None, force: bool, prune: bool) -> None:
    from jamaa.errors import ConfigError
    from jamaa.lab.image import ImageBuilder, Images, describe
    from jamaa.lab.profile import SUITES, load_named_profile
    from jamaa.lab.system import cache_dir

    profile = load_named_profile(environments, profile_name)
    if suite is not None and suite not in SUITES:
        raise ConfigError([f"--suite: {suite!r}: not one of {', '.join(SUITES)}"])
    # every suite the profile's hosts run (a lab may mix Debian 12 and 13), or the one asked for
    profiles = (
        [profile.model_copy(update={"suite": suite})]
        if suite is not None
        else [profile.for_suite(s) for s in profile.suites]
    )
    started = time.monotonic()
    built: list[tuple[str, Images]] = []
    removed: list[Path] = []
    with _Progress() as note:
        for each in profiles:
            builder = ImageBuilder(each, cache_dir(), note=note)
            images = builder.ensure(force=force)
            removed += builder.prune(images) if prune else []
            built.append((each.suite, images))
    suites = ", ".join(s for s, _ in built)
    table = Table(title=f"Lab image ({suites}) in {time.monotonic() - started:.1f} s")
    for column in ("suite", "artefact", "path", "digest", "this run"):
        table.add_column(column)
    kinds = {"base rootfs": "base", "attacker layer": "attacker", "VM disk": "vm"}
    for each_suite, images in built:
        for name, path, digest in describe(images):
            state = "built" if kinds[name] in images.built else "cached"
            table.add_row(each_suite, name, str(path), digest[:16], state)
    console.print(table)
    for directory in removed:
        console.print(f"removed {directory}", highlight=False)


@lab_app.command("up")
def up_command(profile: ProfileOpt = DEFAULT_PROFILE, environments: EnvOpt = Path("environments")) -> None:
    """Bring the lab up (a no-op when it already is) and write its inventory and ssh config."""
    _up(profile, environments)


@fails_cleanly
def _up(profile_name: str, environments: Path) -> None:
    from jamaa.lab.lab import Lab

    with _Progress() as note:
        result = Lab(environments, note=note).up(profile_name)
    if result.already_up:
        console.print(f"The lab (profile {result.state.profile}) is already up; nothing to do.")
    else:
        console.print(f"The lab (profile {result.profile.name}) is up in {result.seconds:.1f} s.")
    _print_hosts(environments, {name: "running" for name in result.state.hosts})


def _print_hosts(
    environments: Path,
    live: dict[str, str] | None = None,
    fmt: OutputFormat = OutputFormat.table,
    output: Path | None = None,
) -> None:
    from jamaa.lab.generated import INVENTORY, SSH_CONFIG, s3_endpoints
    from jamaa.lab.lab import Lab

    lab = Lab(environments)
    state, status = lab.status() if live is None else (None, live)
    if state is None:
        from jamaa.lab.state import load_state

        state = load_state(lab.dir)
    if state is None:
        emit(fmt, output, {"up": False, "hosts": []}, "The lab is down.")
        return
    rows: list[dict[str, str]] = []
    table = Table(title=f"Lab hosts (profile {state.profile}, Debian {state.suite} unless said)")
    for column in ("host", "kind", "Debian", "role", "groups", "LAN address", "SSH", "state"):
        table.add_column(column)
    for name, host in state.hosts.items():
        ssh = f"127.0.0.1:{host.ssh_port}" if host.ssh_port else f"via netns {host.netns}"
        rows.append(
            {
                "host": name,
                "kind": host.kind,
                "suite": host.suite or state.suite,
                "role": host.role,
                "groups": ",".join(host.groups),
                "lan_ip": host.lan_ip,
                "ssh": ssh,
                "state": status.get(name, "?"),
            }
        )
    endpoints = s3_endpoints(state)
    rows.append(
        {
            "host": "s3",
            "kind": "moto",
            "suite": "",
            "role": "object storage",
            "groups": "s3",
            "lan_ip": endpoints["lan"],
            "ssh": endpoints["controller"],
            "state": status.get("s3", "running"),
        }
    )
    for row in rows:
        table.add_row(*row.values())
    generated = Path(state.generated)
    paths = {"inventory": str(generated / INVENTORY), "ssh_config": str(generated / SSH_CONFIG)}
    data = {"up": True, "profile": state.profile, "suite": state.suite, "hosts": rows, **paths}
    emit(fmt, output, data, table, f"inventory: {paths['inventory']}\nssh config: {paths['ssh_config']}")


@lab_app.command("status")
def status_command(
    environments: EnvOpt = Path("environments"),
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Show the lab's hosts and what each says now."""
    _print_hosts(environments, fmt=fmt, output=output)


@lab_app.command("ssh", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="a lab host (see `jamaa lab status`)")],
) -> None:
    """Open a shell on a lab host (extra arguments: a command to run there)."""
    _ssh(host, list(ctx.args))


@fails_cleanly
def _ssh(host: str, command: list[str]) -> None:
    from jamaa.errors import ConfigError
    from jamaa.lab.generated import SSH_CONFIG
    from jamaa.lab.lab import lab_dir
    from jamaa.lab.state import load_state

    state = load_state(lab_dir())
    if state is None:
        raise ConfigError(["the lab is down: run `jamaa lab up` first"])
    if host not in state.hosts:
        raise ConfigError([f"HOST: {host!r}: not a lab host (hosts: {', '.join(state.hosts)})"])
    config = str(Path(state.generated) / SSH_CONFIG)
    os.execvp("ssh", ["ssh", "-F", config, host, *command])


@lab_app.command("down")
def down_command(environments: EnvOpt = Path("environments")) -> None:
    """Stop every lab host and service, unmount, delete the namespaces. Safe to run twice."""
    _down(environments)


@fails_cleanly
def _down(environments: Path) -> None:
    from jamaa.lab.lab import Lab, leftovers

    started = time.monotonic()
    with console.status("taking the lab down"):
        done = Lab(environments).down()
    for line in done:
        console.print(f"  {line}", highlight=False)
    left = leftovers()
    if left:
        from jamaa.lab.system import LabError

        raise LabError("lab down: still there: " + ", ".join(left))
    console.print(f"The lab is down ({time.monotonic() - started:.1f} s); nothing left behind.")


@lab_app.command("run")
def run_command(profile: ProfileOpt = DEFAULT_PROFILE, environments: EnvOpt = Path("environments")) -> None:
    """The whole chain on the lab (`make lab`): validate → plan → policy → lab up → site.yml →
    baseline → report. The lab stays up afterwards."""
    _run(profile, environments)


@fails_cleanly
def _run(profile_name: str, environments: Path) -> None:
    from jamaa.lab.chain import Context, chain_passed, run_chain

    repo = Path.cwd()
    started = time.monotonic()
    with _Progress() as note:
        ctx = Context(repo, environments, profile_name, repo / "out" / "lab", note)
        results = run_chain(ctx)
    table = Table(title=f"jamaa lab run (profile {profile_name}): {time.monotonic() - started:.0f} s")
    for column in ("stage", "result", "time", "detail", "log"):
        table.add_column(column)
    colours = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "red"}
    for result in results:
        outcome = result.outcome
        log = str(outcome.log.relative_to(repo)) if outcome.log else ""
        table.add_row(
            result.stage.name,
            f"[{colours.get(outcome.status, 'yellow')}]{outcome.status}[/]",
            f"{result.seconds:.1f} s",
            outcome.detail,
            log,
        )
    console.print(table)
    if any(r.stage.name == "lab-up" and r.outcome.status is Status.PASS for r in results):
        console.print(
            "The lab stays up: `jamaa lab status`, `jamaa lab ssh srv-01`; "
            "take it down with `jamaa lab down`."
        )
    if not chain_passed(results):
        raise typer.Exit(1)
