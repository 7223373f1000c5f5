"""Publish a finished dq output folder as a Hugging Face dataset folder (Parquet, JSONL and a card).

``folder`` builds the folder, ``card`` writes its README.md, ``licenses`` says where each source's
license comes from, ``push`` uploads it with ``huggingface_hub`` and ``commands`` adds ``dq publish``.
"""
