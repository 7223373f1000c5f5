"""LoRA SFT: the study's training protocol (pure), its run folders, and the local and Tinker backends."""
