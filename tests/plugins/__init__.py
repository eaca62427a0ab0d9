"""Domain fixtures shared by the test packages (registered in tests/conftest.py)."""
