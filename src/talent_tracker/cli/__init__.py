"""The command line: every command, one line per error."""
