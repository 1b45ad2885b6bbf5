"""The running shop's machinery: stacks, processes, observability, audit and tools."""
