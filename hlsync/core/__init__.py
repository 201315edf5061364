"""The pure core: the model, the plan, the planner, fingerprints, results, renderers."""
