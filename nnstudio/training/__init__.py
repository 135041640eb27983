"""The bridge between the window and the engine: training runs on a worker thread.

- reporting.py: Qt-free — what a run reports to the views and when (throttles, snapshots)
- session.py: the thin Qt adapter — TrainingSession, a QThread and signals
"""
