"""The only writer of the build file: every stage, from the sources to the tables."""
