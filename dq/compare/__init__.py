"""``dq compare``: read a study's result folders (eval, training, LR selection) and compare conditions."""
