"""Audits of training artifacts (LoRA adapters) from their metadata, never their weights."""
