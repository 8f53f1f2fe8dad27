"""Batch evaluation: metrics, data loaders and the `assistant eval` commands."""
