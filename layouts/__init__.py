"""YAML layouts of the dashboard (data files; see dashboard/layout.py for the format)."""
