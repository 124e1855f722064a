"""Plugins that reach the platform only through their entry points (see tests/test_plugin_seams.py):
a role, an importer and an exporter, one file each."""
