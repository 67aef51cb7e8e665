"""`torchlane env check`: environment files read and judged against the declaration."""
