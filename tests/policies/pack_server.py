"""Start the CrossGuard pack as the Pulumi CLI does: `python __main__.py` in the pack's directory, the
port of its analyzer gRPC server printed on stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import analyzer_pb2_grpc


def start_pack(directory: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@contextmanager
def served_pack(directory: Path) -> Iterator[Any]:
    """An AnalyzerStub connected to the pack in `directory`; the pack is stopped afterwards."""
    process = start_pack(directory)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            _, err = process.communicate(timeout=5)
            pytest.fail(f"the pack in {directory} did not start: {line!r} {err}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
