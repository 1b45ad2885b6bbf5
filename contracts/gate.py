"""The contract gate: run every consumer test, verify every pact against its real provider, judge the edges.

An edge of the topology is *verified* when its consumer tests pass and drive every
method of the caller's client for it, its pact is committed unchanged and its provider
verifies it; *failed* when any of those breaks;
*missing* when no consumer test writes a pact for it. The gate passes only when every
edge is verified.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from contracts.coverage import find_uncovered_methods
from contracts.messages import MESSAGE_EDGES, verify_message_pact
from contracts.pactfiles import (
    OUTPUT_ENV,
    PACT_DIR,
    PUBLIC_EDGES,
    StalePact,
    find_stale_pacts,
    list_pacts,
    parse_pact_filename,
)
from contracts.verify import VerificationResult, verify_pact
from shop.topology import Topology
from shoplab.runtime.protocol import ShopStack
from shoplab.runtime.stack import running_stack

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSUMER_DIR = Path(__file__).resolve().parent / "consumers"
CONSUMER_TIMEOUT_S = 600.0

Edge = tuple[str, str]
ProgressFn = Callable[[str], None]


class EdgeStatus(StrEnum):
    """What the gate says about one caller→callee edge."""

    VERIFIED = "verified"
    FAILED = "failed"
    MISSING = "missing"


def edge_of_consumer_module(path: Path) -> Edge | None:
    """Return the edge a consumer module covers, from its name ``test_<caller>__<callee>.py``."""
    stem = path.stem.removeprefix("test_")
    caller, sep, callee = stem.partition("__")
    return (caller, callee) if sep and caller and callee and path.stem.startswith("test_") else None


@dataclass(frozen=True)
class ConsumerRun:
    """The outcome of one run of the consumer tests."""

    passed: dict[Edge, bool]
    returncode: int
    output: str


def run_consumer_tests(output_dir: Path, *, consumer_dir: Path = CONSUMER_DIR) -> ConsumerRun:
    """Run the consumer tests in a fresh pytest process, writing their pacts into ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    junit = output_dir.parent / f"{output_dir.name}-junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", str(consumer_dir), "-m", "contracts", "-q",
        "-p", "no:cacheprovider", f"--junitxml={junit}",
    ]
    env = {**os.environ, OUTPUT_ENV: str(output_dir), "PACT_DO_NOT_TRACK": "true"}
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CONSUMER_TIMEOUT_S, check=False
    )
    passed: dict[Edge, bool] = {}
    for module in sorted(consumer_dir.glob("test_*.py")):
        edge = edge_of_consumer_module(module)
        if edge is not None:
            passed[edge] = False  # until the report shows its tests ran and passed
    if junit.exists():
        ran: dict[Edge, bool] = {}
        for case in ET.parse(junit).iter("testcase"):
            module_name = str(case.get("classname", "")).rsplit(".", 1)[-1]
            edge = edge_of_consumer_module(Path(module_name + ".py"))
            if edge is None:
                continue
            ok = not any(child.tag in ("failure", "error") for child in case)
            ran[edge] = ran.get(edge, True) and ok
        passed.update(ran)
    return ConsumerRun(passed, proc.returncode, proc.stdout + proc.stderr)


@dataclass(frozen=True)
class EdgeResult:
    """The gate's verdict on one edge, with the reason when it is not verified."""

    caller: str
    callee: str
    status: EdgeStatus
    detail: str = ""

    @property
    def name(self) -> str:
        """Return the edge as ``caller → callee``."""
        return f"{self.caller} → {self.callee}"


@dataclass(frozen=True)
class GateReport:
    """Every edge's verdict, plus pacts for arrows the topology does not have."""

    edges: tuple[EdgeResult, ...]
    stale: tuple[StalePact, ...] = ()
    unexpected_pacts: tuple[str, ...] = ()
    consumer_output: str = ""
    verifications: tuple[VerificationResult, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Say whether every edge is verified and every committed pact is current."""
        return all(e.status is EdgeStatus.VERIFIED for e in self.edges) and not self.stale

    def failures(self) -> list[str]:
        """Return one line per problem, naming the edge or the file."""
        lines = [f"{e.name}: {e.status.value} ({e.detail})" for e in self.edges if e.status is not EdgeStatus.VERIFIED]
        lines += [f"stale pact {s}" for s in self.stale]
        lines += [f"pact {name} has no edge in the topology (ignored)" for name in self.unexpected_pacts]
        return lines

    def status_of(self, caller: str, callee: str) -> EdgeStatus:
        """Return the verdict on one edge; raise KeyError when it is not in the topology."""
        for e in self.edges:
            if (e.caller, e.callee) == (caller, callee):
                return e.status
        raise KeyError(f"no edge {caller} → {callee} in this report")


def judged_edges(topology: Topology) -> list[Edge]:
    """Return every pact the gate requires: one per topology edge, the public API's outside consumers, then the
    message pacts (consumer, provider)."""
    return [(e.caller, e.callee) for e in topology.edges] + list(PUBLIC_EDGES) + list(MESSAGE_EDGES)


def build_report(
    topology: Topology,
    *,
    consumers: ConsumerRun,
    generated: dict[Edge, Path],
    verifications: dict[Edge, VerificationResult],
    stale: list[StalePact],
    uncovered: dict[Edge, list[str]] | None = None,
) -> GateReport:
    """Judge every topology edge from the consumer run, the pacts, their staleness and verifications.

    ``uncovered`` lists, per edge, the caller's client methods no consumer test drives.
    """
    uncovered = uncovered or {}
    stale_by_edge = {parse_pact_filename(Path(s.name)): s for s in stale}
    results = []
    for key in judged_edges(topology):
        if key not in generated and key not in consumers.passed:
            results.append(EdgeResult(*key, EdgeStatus.MISSING,
                                      f"no consumer test contracts/consumers/test_{key[0]}__{key[1]}.py"))
        elif not consumers.passed.get(key, False):
            results.append(EdgeResult(*key, EdgeStatus.FAILED, "consumer tests failed"))
        elif key not in generated:
            results.append(EdgeResult(*key, EdgeStatus.MISSING, "the consumer tests wrote no pact"))
        elif key not in verifications:
            results.append(EdgeResult(*key, EdgeStatus.FAILED, "provider not verified"))
        elif not verifications[key].ok:
            failed = ", ".join(verifications[key].failed_interactions) or "no interaction verified"
            results.append(EdgeResult(*key, EdgeStatus.FAILED, f"provider verification failed: {failed}"))
        elif uncovered.get(key):
            results.append(EdgeResult(*key, EdgeStatus.FAILED,
                                      f"client methods without a contract: {', '.join(uncovered[key])}"))
        elif key in stale_by_edge:
            results.append(EdgeResult(*key, EdgeStatus.FAILED, f"committed pact is stale: {stale_by_edge[key].reason}"))
        else:
            results.append(EdgeResult(*key, EdgeStatus.VERIFIED))
    known = set(judged_edges(topology))
    unexpected = tuple(sorted(p.name for k, p in generated.items() if k not in known))
    return GateReport(tuple(results), tuple(stale), unexpected, consumers.output, tuple(verifications.values()))


@contextmanager
def _provider_stack(topology: Topology, stack: ShopStack | None, run_dir: Path | None) -> Iterator[tuple[Topology, str]]:
    if stack is not None:
        yield stack.topology, stack.admin_token
        return
    # The gate's stack runs the real topology: an edge without a contract has nothing to verify anyway.
    with running_stack(run_dir, Topology(port_offset=topology.port_offset), observability=False) as running:
        yield running.topology, running.admin_token


def run_contract_gate(
    topology: Topology,
    *,
    stack: ShopStack | None = None,
    run_dir: Path | None = None,
    committed_dir: Path = PACT_DIR,
    consumer_dir: Path = CONSUMER_DIR,
    progress: ProgressFn | None = None,
) -> GateReport:
    """Run the consumers, then verify each fresh pact against its provider; return the report.

    ``stack`` reuses a running ``shoplab.runtime.stack.Stack``; otherwise a stack is started in
    ``run_dir`` (every provider with its peers, so answers that depend on peers are real)
    and stopped afterwards.
    """
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="shoplab-pacts-") as tmp:
        out = Path(tmp) / "pacts"
        say("running the consumer tests")
        consumers = run_consumer_tests(out, consumer_dir=consumer_dir)
        generated = {parse_pact_filename(p): p for p in list_pacts(out).values()}
        stale = find_stale_pacts(out, committed_dir)
        known = set(judged_edges(topology))
        # HTTP pacts against the running providers; the message pacts are verified without a stack, below
        to_verify = {k: p for k, p in generated.items()
                     if k in known and k not in MESSAGE_EDGES and consumers.passed.get(k, False)}
        verifications: dict[Edge, VerificationResult] = {}
        for key in MESSAGE_EDGES:  # message pacts: verified against the relay's message builder, no stack
            if key in generated and consumers.passed.get(key, False):
                say(f"verifying {key[1]}'s messages against {key[0]}'s pact")
                verifications[key] = verify_message_pact(generated[key])
        if to_verify:
            say("starting the providers")
            with _provider_stack(topology, stack, run_dir) as (stack_topology, admin_token):
                for key, path in sorted(to_verify.items()):
                    say(f"verifying {key[1]} against {key[0]}'s pact")
                    verifications[key] = verify_pact(path, topology=stack_topology, admin_token=admin_token)
        return build_report(topology, consumers=consumers, generated=generated,
                            verifications=verifications, stale=stale,
                            uncovered={k: _uncovered(*k, consumer_dir) for k in generated
                                       if k in known and k not in PUBLIC_EDGES and k not in MESSAGE_EDGES})


def _uncovered(caller: str, callee: str, consumer_dir: Path) -> list[str]:
    try:
        return find_uncovered_methods(caller, callee, consumer_dir)
    except (LookupError, ImportError) as exc:
        return [str(exc)]
