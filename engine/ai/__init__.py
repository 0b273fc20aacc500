"""Intelligence over ticket text: duplicate lookup, hot issues, dispatch suggestions, knowledge search,
hot words. Pure computation over texts and numbers; the commands that read tickets live beside it and
never commit (the entry point does)."""
