"""The __project_name__ system."""
