"""The main window and the parts it is made of (see main_window.py for the list)."""
