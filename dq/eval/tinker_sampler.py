"""Tinker sampler: the study's remote greedy sampling calls (SEED_CONTRACTS §5.2).

``ServiceClient().create_sampling_client(base_model=...)`` for a base model, or
``(model_path="tinker://.../sampler_weights/...")`` for a checkpoint; each prompt is
``ModelInput.from_ints(ids)``, sampled with ``SamplingParams(max_tokens=512, temperature=0)``
and ``num_samples=1``; requests go in sequential batches of ``concurrency`` gathered
concurrently, so results keep prompt order. The API key is read by the SDK from
``TINKER_API_KEY``; dq only checks that it is set and never prints, logs or stores it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from dq.api.evaluate import Generation
from dq.errors import DqError

API_KEY_ENV = "TINKER_API_KEY"


def require_api_key() -> None:
    """A DqError (one line, exit 2) when ``TINKER_API_KEY`` is unset or empty."""
    if not os.environ.get(API_KEY_ENV, "").strip():
        raise DqError(f"{API_KEY_ENV} is not set: export it to sample with Tinker (dq never stores it)")


def sampling_params(max_tokens: int) -> Any:
    """The contract's decoding: greedy, no top_p, no stop strings (the backend stops at EOS)."""
    import tinker

    return tinker.SamplingParams(max_tokens=max_tokens, temperature=0)


def build_requests(prompt_ids: list[list[int]], max_tokens: int) -> list[dict[str, Any]]:
    """The keyword arguments of each ``sample_async`` call, in prompt order."""
    import tinker

    params = sampling_params(max_tokens)
    return [
        {"prompt": tinker.ModelInput.from_ints(list(ids)), "num_samples": 1, "sampling_params": params}
        for ids in prompt_ids
    ]


class TinkerSampler:
    """Greedy sampling through a Tinker sampling client, in ordered concurrent batches."""

    def __init__(self, client: Any, concurrency: int = 16, tokenizer: Any | None = None) -> None:
        self.client = client
        self.concurrency = concurrency
        self.tokenizer = tokenizer

    @classmethod
    def connect(
        cls, base_model: str | None = None, model_path: str | None = None, concurrency: int = 16
    ) -> TinkerSampler:
        """A sampler for a base model or a ``tinker://`` sampler-weights path (exactly one)."""
        if (base_model is None) == (model_path is None):
            raise DqError("tinker: give exactly one of a base model or a tinker:// model path")
        if model_path is not None and not model_path.startswith("tinker://"):
            raise DqError(f"{model_path}: a Tinker checkpoint path starts with tinker://")
        require_api_key()
        import tinker

        service = tinker.ServiceClient()
        client = service.create_sampling_client(base_model=base_model, model_path=model_path)
        return cls(client, concurrency)

    def generate(self, prompt_ids: list[list[int]], max_tokens: int) -> list[Generation]:
        return asyncio.run(self._generate(prompt_ids, max_tokens))

    async def _generate(self, prompt_ids: list[list[int]], max_tokens: int) -> list[Generation]:
        requests = build_requests(prompt_ids, max_tokens)
        out: list[Generation] = []
        for start in range(0, len(requests), self.concurrency):
            batch = requests[start : start + self.concurrency]
            responses = await asyncio.gather(*(self.client.sample_async(**request) for request in batch))
            out.extend(self._generation(response) for response in responses)
        return out

    def _generation(self, response: Any) -> Generation:
        sequence = response.sequences[0]
        tokens = list(sequence.tokens)
        text = self.tokenizer.decode(tokens, skip_special_tokens=False) if self.tokenizer else ""
        return Generation(tokens, text, _stop_reason(sequence.stop_reason))


def _stop_reason(value: Any) -> str:
    # Older SDKs returned an enum whose str() is "StopReason.STOP"; the study recorded "stop".
    text = str(getattr(value, "value", value))
    return text.rsplit(".", 1)[-1].lower()
