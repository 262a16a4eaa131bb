"""Embedded defaults for every port: run on a laptop with no cloud account, and in tests."""
