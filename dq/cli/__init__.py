"""The ``dq`` command line (``dq.cli.main:main`` is the console entry point)."""
