"""``python -m cli``: the same as the ``graphdex`` command."""

from cli.app import main

main()
