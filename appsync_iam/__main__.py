"""``python -m appsync_iam``: the same command as ``appsync-iam``."""

from .cli import run

if __name__ == "__main__":
    run()
