"""Chat rendering and tokenization: the exact offline Qwen3 tokenizer and the built-in renderers.

``load_tokenizer(name_or_path)`` gives a transformers tokenizer (Qwen3 Hub ids are built offline);
the renderers implement :class:`dq.api.render.Renderer` and register from ``dq.render.plugin``.
"""
