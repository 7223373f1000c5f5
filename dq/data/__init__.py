"""Rows in and out: the one batch reader, JSONL writers and row formats, benchmarks, the demo corpus."""
