"""Built-in pipeline stages (importable as ``dq_stages``), registered through the public hooks."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_stages(register: Callable[[type], None]) -> None:
    from dq_stages.curate import CurateStage
    from dq_stages.evaluate import EvaluateStage
    from dq_stages.gate import GateStage
    from dq_stages.load import LoadStage
    from dq_stages.render import RenderStage
    from dq_stages.split import SplitStage
    from dq_stages.tokens import TokensStage
    from dq_stages.train import TrainStage
    from dq_stages.write import WriteStage

    stages = (LoadStage, CurateStage, SplitStage, GateStage, RenderStage, TokensStage, TrainStage)
    for stage in (*stages, EvaluateStage, WriteStage):
        register(stage)
