"""Test doubles shared by every test folder: injected, never monkeypatched (DESIGN.md §9)."""
