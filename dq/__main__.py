"""``python -m dq`` runs the CLI."""

from dq.cli.main import main

main()
