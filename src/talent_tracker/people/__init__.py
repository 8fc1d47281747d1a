"""Stage 3: authorships to people (mentions, clusters, the Fellegi-Sunter model, evaluation)."""
