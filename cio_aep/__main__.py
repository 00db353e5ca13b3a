"""`python -m cio_aep` runs the CLI."""

from cio_aep.cli.main import run

if __name__ == "__main__":
    run()
