"""Git hooks. Kept empty: `python -m torchlane.hooks.prepush` imports this on every push."""
