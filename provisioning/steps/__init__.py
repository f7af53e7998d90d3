"""One module per step kind; `registry.executors()` maps each kind to its `ensure` function."""
