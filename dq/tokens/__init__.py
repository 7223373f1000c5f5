"""Token counts, statistics and cost of a rendered dataset (the ``dq.tokens`` stage, ``dq render``)."""
