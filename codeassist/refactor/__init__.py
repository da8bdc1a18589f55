"""Refactoring Python to a style (`refactor --style ...`): fixers, the verification gate, files."""
