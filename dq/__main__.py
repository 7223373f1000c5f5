"""``python -m dq`` runs the CLI."""

from dq.cli import main

main()
