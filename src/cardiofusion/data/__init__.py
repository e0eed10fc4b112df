"""Validate stage: table and file checks, path resolution and the grouped split."""
