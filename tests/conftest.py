"""Shared pytest configuration for the whole workspace."""
