"""Review packs: samples for people, and new dataset versions from their decisions."""
