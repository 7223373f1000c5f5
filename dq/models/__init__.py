"""Model loading shared by the train and eval stages (offline only: nothing comes from the Hub)."""
