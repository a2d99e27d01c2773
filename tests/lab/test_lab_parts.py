"""Lab parts that need no real host: image digests and cache validity, generated files, the chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from jamaa.lab import chain, vm
from jamaa.lab import lab as lab_module
from jamaa.lab.chain import Context, Outcome, Stage, chain_passed, run_chain
from jamaa.lab.generated import remove_generated, render_inventory, render_ssh_config, write_generated
from jamaa.lab.image import ImageBuilder, _digest
from jamaa.lab.profile import HostSpec, load_named_profile
from jamaa.lab.state import HostRecord, LabState
from jamaa.lab.system import LabError
from jamaa.paths import REPO
from jamaa.results import Status

ENVIRONMENTS = REPO / "environments"


@pytest.fixture
def builder(tmp_path: Path) -> ImageBuilder:
    return ImageBuilder(load_named_profile(ENVIRONMENTS), tmp_path)  # makes a controller key there


def test_image_digest_follows_inputs_only(builder: ImageBuilder, tmp_path: Path) -> None:
    base = _digest(builder.base_inputs())
    assert base == _digest(ImageBuilder(builder.profile, tmp_path).base_inputs())  # same inputs, same image
    more = builder.profile.model_copy(
        update={"image": builder.profile.image.model_copy(update={"packages": ["less"]})}
    )
    assert _digest(ImageBuilder(more, tmp_path).base_inputs()) != base
    bookworm = builder.profile.model_copy(update={"suite": "bookworm"})
    assert _digest(ImageBuilder(bookworm, tmp_path).base_inputs()) != base
    # the VM's packages change the VM disk, not the base rootfs the containers use
    vm_more = builder.profile.model_copy(
        update={"image": builder.profile.image.model_copy(update={"vm_packages": ["auditd", "tcpdump"]})}
    )
    other = ImageBuilder(vm_more, tmp_path)
    assert _digest(other.base_inputs()) == base
    assert _digest(other.vm_inputs(base)) != _digest(builder.vm_inputs(base))


def test_cached_image_is_valid_only_with_its_digest(builder: ImageBuilder, tmp_path: Path) -> None:
    directory = tmp_path / "images" / "base-trixie-x"
    directory.mkdir(parents=True)
    assert not builder._valid(directory, "abc")
    (directory / "manifest.json").write_text(json.dumps({"digest": "abc"}))
    assert builder._valid(directory, "abc")
    assert not builder._valid(directory, "abd")
    (directory / "manifest.json").write_text("{ torn")
    assert not builder._valid(directory, "abc")


def _state() -> LabState:
    state = LabState(
        profile="default", suite="trixie", environments="environments", generated="/tmp/g",
        lan_cidr="192.168.77.0/24", service_ip="192.168.77.1", s3_port=9000, s3_controller_port=22203,
    )  # fmt: skip
    state.hosts["srv-01"] = HostRecord(
        name="srv-01", kind="container", role="commune_server", lan_ip="192.168.77.11",
        netns="jamaa-h-srv-01", ssh_port=22200, communes=["c0410101"],
        groups=["commune_servers", "containers"],
    )  # fmt: skip
    state.hosts["vm-01"] = HostRecord(
        name="vm-01", kind="vm", role="commune_server", lan_ip="192.168.77.21", netns=None,
        ssh_port=22201, communes=[], groups=["commune_servers", "vms"],
    )  # fmt: skip
    state.hosts["attacker"] = HostRecord(
        name="attacker", kind="container", role="attacker", lan_ip="192.168.77.66",
        netns="jamaa-h-attacker", ssh_port=None, groups=["attackers"],
    )  # fmt: skip
    return state


def test_inventory_is_what_ansible_reads(tmp_path: Path) -> None:
    profile = load_named_profile(ENVIRONMENTS)
    path = tmp_path / "inventory.ini"
    path.write_text(render_inventory(_state(), profile, Path("/k/id_ed25519")))
    listing = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(listing.stdout)
    assert data["commune_servers"]["hosts"] == ["srv-01", "vm-01"]
    assert data["containers"]["hosts"] == ["srv-01"]
    assert data["attackers"]["hosts"] == ["attacker"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["srv-01"]["ansible_port"] == 22200
    assert hostvars["srv-01"]["jamaa_communes"] == ["c0410101"]
    assert hostvars["vm-01"]["jamaa_s3_endpoint"] == "http://192.168.77.1:9000"
    assert "ip netns exec jamaa-h-attacker nc" in hostvars["attacker"]["ansible_ssh_common_args"]
    # new host keys at every lab boot: neither OpenSSH's options nor Mitogen's own check refuse them
    assert "StrictHostKeyChecking=no" in hostvars["vm-01"]["ansible_ssh_extra_args"]
    assert hostvars["vm-01"]["ansible_host_key_checking"] is False


def test_ssh_config_reaches_the_attacker_through_its_namespace() -> None:
    text = render_ssh_config(_state(), Path("/k/id_ed25519"))
    attacker = text.split("Host attacker\n", 1)[1].split("\n\n", 1)[0]
    assert "ProxyCommand ip netns exec jamaa-h-attacker nc %h %p" in attacker
    assert "Port 22200" in text.split("Host srv-01\n", 1)[1].split("\n\n", 1)[0]


def _ctx(tmp_path: Path) -> Context:
    return Context(tmp_path, tmp_path / "environments", "default", tmp_path / "out", lambda _m: None)


def test_chain_runs_every_stage_and_never_pretends(tmp_path: Path) -> None:
    stages = [
        Stage("first", "ok", argv=("{python}", "-c", "print('hello')")),
        Stage("broken", "fails", argv=("{python}", "-c", "raise SystemExit(3)")),
        Stage("after", "needs broken", argv=("true",), needs=("broken",)),
        Stage("inproc", "a function", action=lambda ctx: Outcome(Status.PASS, "fine")),
    ]
    results = {r.stage.name: r.outcome for r in run_chain(_ctx(tmp_path), stages)}
    assert results["first"].status is Status.PASS
    assert results["first"].log is not None and "hello" in results["first"].log.read_text()
    assert results["broken"].status is Status.FAIL and results["broken"].detail.startswith("exit 3")
    assert results["after"] == Outcome(Status.CANNOT_EVALUATE, "needs broken, which did not pass")
    assert results["inproc"] == Outcome(Status.PASS, "fine")
    assert not chain_passed(run_chain(_ctx(tmp_path), stages))
    assert chain_passed(run_chain(_ctx(tmp_path), [stages[0], stages[3]]))


def test_chain_stage_crash_is_that_stage_failing(tmp_path: Path) -> None:
    def crash(ctx: Context) -> Outcome:
        raise RuntimeError("boom")

    (result,) = run_chain(_ctx(tmp_path), [Stage("crash", "raises", action=crash)])
    assert result.outcome == Outcome(Status.ERROR, "RuntimeError: boom")


def test_default_chain_order_and_what_it_runs() -> None:
    names = [s.name for s in chain.STAGES]
    assert names == [
        "validate",
        "plan",
        "policy",
        "lab-up",
        "converge",
        "backup",
        "baseline",
        "drill",
        "report",
    ]
    # every stage runs something that exists: its jamaa command, its playbook
    import typer

    from jamaa.cli import app

    root = typer.main.get_command(app)
    for stage in chain.STAGES:
        argv = list(stage.argv)
        if argv[:3] == ["{python}", "-m", "jamaa.cli"]:
            command = root
            for word in argv[3:5]:
                commands = getattr(command, "commands", None)
                if not isinstance(commands, dict):
                    break
                assert word in commands, f"{stage.name}: no command `jamaa ... {word}`"
                command = commands[word]
        for arg in argv:
            if arg.startswith("playbooks/"):
                assert (REPO / arg).is_file(), f"{stage.name}: {arg}"


def _vm_state(tmp_path: Path) -> tuple[LabState, Path]:
    state = _state()
    state.hosts["vm-01"].boots = 1
    state.add_process("qemu:vm-01", os.getpid())  # a live process standing in for QEMU
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "vm-01.console.log").write_text(
        "[    3.1] Kernel panic - not syncing: Fatal exception in interrupt\n"
    )
    return state, logs


def test_vm_panic_is_retried_on_a_fresh_boot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, logs = _vm_state(tmp_path)
    starts: list[int] = []

    def fake_start(state: LabState, lab_dir: Path, profile: object, host: HostSpec, *rest: object) -> None:
        starts.append(int(str(rest[-1])))
        state.hosts[host.name].boots += 1
        (lab_dir / "logs" / f"{host.name}.console.log").write_text("Debian GNU/Linux 13 vm-01 ttyS0\n")

    monkeypatch.setattr(vm, "start_vm", fake_start)
    monkeypatch.setattr(vm, "stop_vm", lambda state, name: True)
    monkeypatch.setattr(vm, "ssh_banner", lambda port: bool(starts))
    profile = load_named_profile(ENVIRONMENTS)
    notes: list[str] = []
    vm.wait_vm(state, tmp_path, profile, profile.host("vm-01"), 2, None, notes.append)  # type: ignore[arg-type]
    assert starts == [22201]
    assert notes == ["vm-01: boot 1: 'Kernel panic' on the serial console; booting again"]
    assert "Kernel panic" in (logs / "vm-01.console.boot1.log").read_text()


def test_vm_that_never_boots_is_an_error_naming_each_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, logs = _vm_state(tmp_path)

    def panics_again(state: LabState, lab_dir: Path, profile: object, host: HostSpec, *rest: object) -> None:
        state.hosts[host.name].boots += 1
        (lab_dir / "logs" / f"{host.name}.console.log").write_text("end Kernel panic - not syncing\n")

    monkeypatch.setattr(vm, "start_vm", panics_again)
    monkeypatch.setattr(vm, "stop_vm", lambda state, name: True)
    monkeypatch.setattr(vm, "ssh_banner", lambda port: False)
    profile = load_named_profile(ENVIRONMENTS)
    profile = profile.model_copy(update={"vm": profile.vm.model_copy(update={"boot_attempts": 2})})
    with pytest.raises(LabError) as caught:
        vm.wait_vm(state, tmp_path, profile, profile.host("vm-01"), 2, None, lambda _m: None)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "vm-01: VM did not boot: boot 1: 'Kernel panic' on the serial console; "
        f"boot 2: 'Kernel panic' on the serial console (serial logs in {logs})"
    )


class _ScriptedLab(lab_module.Lab):
    """A Lab whose hosts answer `systemctl` from a script (no real host)."""

    def __init__(self, tmp_path: Path, answers: list[str]) -> None:
        super().__init__(ENVIRONMENTS)
        self.dir = tmp_path
        self.answers = answers
        self.commands: list[str] = []

    def ssh(self, state: LabState, host: str, command: str, timeout: float = 60) -> CompletedProcess[str]:
        self.commands.append(command)
        if command == "systemctl is-system-running --wait":
            return CompletedProcess([], 1, self.answers.pop(0) + "\n", "")
        if command.startswith("systemctl --failed"):
            return CompletedProcess([], 0, "systemd-remount-fs.service loaded failed failed Remount\n", "")
        return CompletedProcess([], 0, "", "")


def _scripted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: list[str]
) -> tuple[_ScriptedLab, list[str]]:
    boots: list[str] = []

    def reboot(state: LabState, lab_dir: Path, name: str) -> None:
        boots.append(name)
        state.hosts[name].boots += 1

    monkeypatch.setattr(lab_module, "stop_container", lambda state, name: True)
    monkeypatch.setattr(lab_module, "boot_container", reboot)
    return _ScriptedLab(tmp_path, answers), boots


def test_a_degraded_boot_is_retried_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab, boots = _scripted(tmp_path, monkeypatch, ["degraded", "running"])
    state = _state()
    state.hosts["srv-01"].boots = 1
    notes: list[str] = []
    lab.note = notes.append
    lab._wait_running(state, load_named_profile(ENVIRONMENTS), "srv-01", None, 0)  # type: ignore[arg-type]
    assert boots == ["srv-01"]
    assert notes == [
        "srv-01: systemd is 'degraded' (failed units: systemd-remount-fs.service); booting it once more"
    ]


def test_degraded_twice_is_an_error_naming_the_failed_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, boots = _scripted(tmp_path, monkeypatch, ["degraded", "degraded"])
    state = _state()
    state.hosts["srv-01"].boots = 1
    with pytest.raises(LabError) as caught:
        lab._wait_running(state, load_named_profile(ENVIRONMENTS), "srv-01", None, 0)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "srv-01: systemd is 'degraded' after 2 boots (failed units: systemd-remount-fs.service)"
    )
    assert boots == ["srv-01"]


def test_generated_inventory_carries_the_environment_vars(tmp_path: Path) -> None:
    lab_env = tmp_path / "lab"
    (lab_env / "group_vars").mkdir(parents=True)
    (lab_env / "group_vars" / "all.yml").write_text("nftables_firewall_management_cidrs: [10.0.2.2/32]\n")
    state = _state()
    state.generated = str(lab_env / "generated")
    generated = write_generated(state, load_named_profile(ENVIRONMENTS), Path("/k/id_ed25519"))
    host = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(generated / "inventory.ini"),
         "--host", "srv-01"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(host.stdout)["nftables_firewall_management_cidrs"] == ["10.0.2.2/32"]
    assert not (generated / "host_vars").exists()  # only what the environment has
    remove_generated(generated)
    assert sorted(p.name for p in generated.iterdir()) == []


def test_inotify_instances_are_raised_for_many_containers_and_never_lowered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jamaa.lab import system

    setting = tmp_path / "max_user_instances"
    monkeypatch.setattr(system, "INOTIFY_INSTANCES", setting)
    setting.write_text("128\n")
    assert system.ensure_inotify_instances(3) == 128
    assert int(setting.read_text()) == system.INOTIFY_FLOOR
    assert system.ensure_inotify_instances(200) == system.INOTIFY_FLOOR
    assert int(setting.read_text()) == 200 * system.INOTIFY_PER_CONTAINER
    assert system.ensure_inotify_instances(3) is None  # already enough: left as it is
    assert int(setting.read_text()) == 200 * system.INOTIFY_PER_CONTAINER


def test_the_vm_monitor_of_a_lab_without_that_vm_is_a_one_line_error(tmp_path: Path) -> None:
    from jamaa.lab.system import LabError
    from jamaa.lab.vm import plug_usb_stick

    with pytest.raises(
        LabError, match=r"^vm-09: no QEMU monitor at .*qmp\.sock \(is it a lab VM, and is it up\?\)$"
    ):
        plug_usb_stick(tmp_path, "vm-09")
