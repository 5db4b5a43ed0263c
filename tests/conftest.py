"""Shared pytest configuration: the emulator fixtures for every test directory."""

pytest_plugins = ["appsync_iam.emulator.pytest_plugin", "tests.secret_audit"]
