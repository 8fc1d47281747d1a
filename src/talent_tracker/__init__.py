"""talent-tracker: where the world's top AI researchers come from, train and work."""

__version__ = "0.1.0"
