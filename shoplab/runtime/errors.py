"""Draw the one tree of errors the runtime raises (stacks, processes, waits, tools, audit).

::

    RuntimeFailure                 every runtime error; the message says what to do
    ├── StackError                 a stack (native or containers) could not do what was asked
    │   ├── PortTaken              a port the stack needs is already in use
    │   ├── StackNotRunning        no stack runs in the run folder
    │   └── PollTimeout            a polled condition did not hold before its deadline
    └── ToolMissing                (shoplab.runtime.tools) a needed binary is not installed
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base of every runtime error; each says what failed and what to do about it."""


class StackError(RuntimeFailure):
    """The stack could not do what was asked; the message says what to do."""


class PortTaken(StackError):
    """A port the stack needs is already in use."""


class StackNotRunning(StackError):
    """No stack is running in the run folder."""


class PollTimeout(StackError):
    """A polled condition did not hold before its deadline."""
