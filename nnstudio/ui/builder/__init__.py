"""The layer builder: palette, stack, inspector, undo commands, network diagram."""
