"""`python -m dtcli` runs the `dt` command line."""

from dtcli.cli import main

if __name__ == "__main__":
    main()
