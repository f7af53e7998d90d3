"""Sandbox emulator tests."""
