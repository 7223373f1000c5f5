"""Evaluation: benchmark evaluators (GSM8K under the study's contract, MATH-500), samplers, rescoring.

Subject modules: :mod:`dq.eval.gsm8k_contract` (frozen extraction and scoring),
:mod:`dq.eval.lenient` (diagnostic score), :mod:`dq.eval.math_equiv` (MATH equivalence),
:mod:`dq.eval.runner` and :mod:`dq.eval.results` (running and results files),
:mod:`dq.eval.rescore`, :mod:`dq.eval.local_sampler`, :mod:`dq.eval.tinker_sampler`.
"""
