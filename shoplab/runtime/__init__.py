"""The running shop's machinery: stacks, processes, observability, audit and tools.

One idea per module, importing downward only (``.importlinter`` forbids cycles)::

    errors         the one error tree: RuntimeFailure > StackError > PortTaken, StackNotRunning, PollTimeout
    polling        poll_until: the one wait-with-a-deadline (tests/support re-exports it)
    protocol       ShopStack (what a running shop offers) and ProcessStatus
    state          the run folder and its state.json
    ports          are the stack's ports free, and who holds those that are not
    supervisord    Program, supervisord.conf, its XML-RPC API (supervisor's own transport)
    programs       the native stack's programs: toxiproxy, services, worker, observability
    observability  Prometheus and Jaeger programs and configs; the dashboards' queries
    compose        docker-compose.yml rendered from shop/topology.py
    containers     ContainerStack: the same ShopStack over docker compose
    stack          Stack: the native stack; Stack.attach returns whichever stack runs
    audit          the shop's invariants, checked over the services' admin APIs
    tools          the external binaries (toxiproxy, prometheus, jaeger, ...)
"""
