"""Built-in problem: image classification (being written)."""
