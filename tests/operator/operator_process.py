"""Run the operator as its container would: `python -m holo_operator`, in a subprocess."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from turn_processes import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class OperatorProcess:
    process: asyncio.subprocess.Process
    metrics_url: str
    liveness_url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


def write_kubeconfig(path: Path, server: str, token: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "standin",
                "clusters": [{"name": "standin", "cluster": {"server": server}}],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [
                    {"name": "standin", "context": {"cluster": "standin", "user": "operator"}}
                ],
            }
        )
    )
    return path


@contextlib.asynccontextmanager
async def operator_process(
    server: str,
    token: str,
    workdir: Path,
    namespace: str,
    instance: str = "op-1",
    tick: float = 0.3,
    lock_ttl: float = 3.0,
) -> AsyncIterator[OperatorProcess]:
    metrics_port, liveness_port = free_port(), free_port()
    log = workdir / f"operator-{instance}.log"
    env = {
        **os.environ,
        "KUBECONFIG": str(write_kubeconfig(workdir / "kubeconfig", server, token)),
        "HOLO_OPERATOR_NAMESPACE": namespace,
        "HOLO_OPERATOR_INSTANCE": instance,
        "HOLO_OPERATOR_TICK_SECONDS": str(tick),
        "HOLO_OPERATOR_LOCK_TTL_SECONDS": str(lock_ttl),
        "HOLO_OPERATOR_METRICS_PORT": str(metrics_port),
        "HOLO_OPERATOR_LIVENESS": f"http://127.0.0.1:{liveness_port}/healthz",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "holo-operator"), env=env, stdout=out, stderr=out
        )
    handle = OperatorProcess(
        process,
        f"http://127.0.0.1:{metrics_port}/metrics",
        f"http://127.0.0.1:{liveness_port}/healthz",
        log,
    )
    try:
        yield handle
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()
