"""Python code assistance: PEP 8 refactoring with a verification gate, and defect detection."""
