"""The bridge between the window and the engine: training runs on a worker thread."""
