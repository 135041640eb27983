"""The Draw tab: digit canvas and prediction view."""
