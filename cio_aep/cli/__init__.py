"""Thin Typer commands: parse options, call the core, hand the result to a reporter."""
