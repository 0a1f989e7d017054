"""Plain-Python distribution engines (no Django imports): ranking, candidate generation, CF."""
