"""Sentence embeddings for the semantic contamination check: the full model and a distilled static table.

Heavy imports (torch, transformers, tokenizers) happen inside functions, when a check runs.
"""
