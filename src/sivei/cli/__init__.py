"""The ``sivei`` command: Spanish subcommands with English aliases; plug-ins add theirs."""
