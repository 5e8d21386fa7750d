"""Control side: the action table, keyboard injection with safety rules, global hotkeys, human key input."""
