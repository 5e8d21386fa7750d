"""The PyQt5 control panel: a thin client over the functions the CLI calls."""
