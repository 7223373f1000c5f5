"""The study's text recipes (pure Python) and their exact vectorized forms."""
