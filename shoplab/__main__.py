"""Run the command line as ``python -m shoplab``."""

from shoplab.cli import main

main()
