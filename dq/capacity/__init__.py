"""LoRA capacity: trainable parameters, adapter sizes and the information budget, from a config."""
