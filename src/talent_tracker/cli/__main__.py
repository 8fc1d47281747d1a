"""`python -m talent_tracker.cli`: the same as the installed `talent-tracker`."""

from talent_tracker.cli.commands import main

main()
