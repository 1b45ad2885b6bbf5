"""The faults of an experiment file, as pydantic models: a toxic, an edge down, an app fault, a process fault.

Part of the experiment schema (``chaos.schema``), which holds the phases, probes and load; the
topology-dependent checks read the topology from the validation context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, Strict, ValidationInfo, field_validator, model_validator

from chaos.model import (
    CONSUMER_PROCESS,
    WORKER_PROCESS,
    AppFaultSpec,
    DownFaultSpec,
    FaultSpec,
    ProcessAction,
    ProcessFaultSpec,
    ToxicFaultSpec,
)
from chaos.toxiproxy import TOXIC_TYPES, Stream, make_toxic, toxic_fields
from chaos.validation import Count, Doc, Ratio, Text, bounded, one_of, refuse
from shop.kit import faults as kit_faults
from shop.topology import BROKER, Topology
from shop.topology import DEFAULT as DEFAULT_TOPOLOGY

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def topology_of(info: ValidationInfo) -> Topology:
    context = info.context if isinstance(info.context, Mapping) else {}
    topology: Topology = context.get("topology", DEFAULT_TOPOLOGY)
    return topology


def edge_names(info: ValidationInfo) -> tuple[str, ...]:
    # the broker edges too: a fault on them needs a stack started with `shoplab up --broker`
    return tuple(e.proxy_name for e in topology_of(info).proxied_edges)


def check_choice(value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is not None and value not in choices:
        raise refuse(f"expected one of {', '.join(choices)}, got {value!r}")
    return value


class ToxicFaultDoc(Doc):
    """``{kind: toxic, edge, type, stream?, toxicity?, attributes?, name?}``."""

    kind: Literal["toxic"]
    edge: Text
    type: Annotated[Text, one_of(tuple(TOXIC_TYPES))]
    stream: Annotated[Text, one_of(tuple(s.value for s in Stream))] = "downstream"
    toxicity: Ratio = 1.0
    attributes: dict[str, Count] = Field(default_factory=dict)
    name: Text | None = None

    @field_validator("edge")
    @classmethod
    def _known_edge(cls, value: str, info: ValidationInfo) -> str:
        return check_choice(value, edge_names(info)) or value

    @model_validator(mode="after")
    def _attributes_fit_the_type(self) -> ToxicFaultDoc:
        wanted = toxic_fields(self.type)
        for key in self.attributes:
            if key not in wanted:
                raise refuse(f"unknown key (expected one of {', '.join(sorted(wanted))})", f"attributes.{key}")
        for key, required in wanted.items():
            if required and key not in self.attributes:
                raise refuse("is required", f"attributes.{key}")
        return self

    def to_fault(self) -> ToxicFaultSpec:
        """Return the fault this mapping describes."""
        toxic = make_toxic(self.type, stream=Stream(self.stream), toxicity=self.toxicity, name=self.name,
                           **self.attributes)
        return ToxicFaultSpec(self.edge, toxic)


class DownFaultDoc(Doc):
    """``{kind: down, edge}``."""

    kind: Literal["down"]
    edge: Text

    @field_validator("edge")
    @classmethod
    def _known_edge(cls, value: str, info: ValidationInfo) -> str:
        return check_choice(value, edge_names(info)) or value

    def to_fault(self) -> DownFaultSpec:
        """Return the fault this mapping describes."""
        return DownFaultSpec(self.edge)


class AppFaultDoc(Doc):
    """``{kind: app, service, route, method?, error_rate?, status?, latency_ms?, latency_rate?, retry_after_s?,
    concurrency?, queue?}``."""

    kind: Literal["app"]
    service: Text
    route: Text
    method: Annotated[Text, one_of(HTTP_METHODS)] | None = None
    error_rate: Ratio = 0.0
    status: Annotated[int, Strict(), bounded("an integer", 400, 599)] = 503
    latency_ms: Count = 0
    latency_rate: Ratio = 1.0
    retry_after_s: Annotated[int, Strict(), bounded("an integer", 0, 3600)] | None = None
    # A server of limited capacity (the admin API's ``concurrency``/``queue``; see shop.kit.faults).
    concurrency: Annotated[int, Strict(), bounded("an integer", 1, 64)] | None = None
    queue: Annotated[int, Strict(), bounded("an integer", 0, 64)] = 0

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str, info: ValidationInfo) -> str:
        return check_choice(value, topology_of(info).service_names) or value

    @model_validator(mode="after")
    def _queue_needs_concurrency(self) -> AppFaultDoc:
        if self.queue and self.concurrency is None:
            raise refuse("needs concurrency (the line of a server of limited capacity)", "queue")
        return self

    def to_fault(self) -> AppFaultSpec:
        """Return the fault this mapping describes (one rule; ``merge_app_faults`` joins a service's rules)."""
        rule = kit_faults.FaultSpec(route=self.route, method=self.method, error_rate=self.error_rate,
                                    status=self.status, latency_ms=self.latency_ms, retry_after_s=self.retry_after_s,
                                    latency_rate=self.latency_rate, concurrency=self.concurrency,
                                    queue=self.queue)
        return AppFaultSpec(self.service, (rule,))


class ProcessFaultDoc(Doc):
    """``{kind: process, process, action}``."""

    kind: Literal["process"]
    process: Text
    action: Annotated[Text, one_of(tuple(a.value for a in ProcessAction))]

    @field_validator("process")
    @classmethod
    def _known_process(cls, value: str, info: ValidationInfo) -> str:
        # RabbitMQ and its consumer run only on a stack started with `shoplab up --broker`
        return check_choice(value, (*topology_of(info).service_names, WORKER_PROCESS, BROKER, CONSUMER_PROCESS)) or value

    def to_fault(self) -> ProcessFaultSpec:
        """Return the fault this mapping describes."""
        return ProcessFaultSpec(self.process, ProcessAction(self.action))


FaultDoc = Annotated[ToxicFaultDoc | DownFaultDoc | AppFaultDoc | ProcessFaultDoc, Field(discriminator="kind")]


def merge_app_faults(faults: list[FaultSpec]) -> tuple[FaultSpec, ...]:
    """Merge app faults on one service: the admin API replaces a service's whole list."""
    merged: list[FaultSpec] = []
    by_service: dict[str, int] = {}
    for f in faults:
        if isinstance(f, AppFaultSpec) and f.service in by_service:
            i = by_service[f.service]
            prev = merged[i]
            assert isinstance(prev, AppFaultSpec)
            merged[i] = AppFaultSpec(f.service, prev.rules + f.rules)
            continue
        if isinstance(f, AppFaultSpec):
            by_service[f.service] = len(merged)
        merged.append(f)
    return tuple(merged)
