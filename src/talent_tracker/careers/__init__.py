"""Stage 4: career facts (origin, graduate school, work) with their sources, predictions, public profiles."""
