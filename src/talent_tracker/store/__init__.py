"""Persistence only: the build's DuckDB file (schemas, the locked atomic writer, reading, export) and the analysts' SQLite workspace."""
