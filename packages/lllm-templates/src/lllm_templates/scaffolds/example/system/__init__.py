"""The __project_name__ example system."""
