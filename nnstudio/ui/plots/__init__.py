"""Live plots: loss and accuracy curves, decision boundary, histograms, confusion matrix."""
