"""The read side: samples, statistics, estimates, analyses, the published comparison, summaries."""
