"""The engine: the plan (built once from a rule set), curation accounting, execution, manifest."""
