"""Built-in problem: chess puzzles (being written)."""
