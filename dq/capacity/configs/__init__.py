"""Shipped config.json files of common base models (data only): see dq.capacity.lora.KNOWN_MODELS."""
