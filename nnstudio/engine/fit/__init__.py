"""Training: the one fit loop (CLI, the window's worker, tests) and what it is told and reports.

- loop.py: ``fit``, the batches of an epoch and the epoch report
- control.py: FitConfig (the settings), FitResult (what fit returns), TrainingControl (stop,
  pause, single step and learning-rate changes between batches)
- inputs.py: the training and validation arrays, checked once
- validation.py: the validation pass and early stopping, after each epoch
- guard.py: the NaN guard (finite weights kept, a message naming the learning rate)
- parallel.py: each batch split over two cores for networks that gain from it
- health.py: layer health sampled every few batches (the training doctor's numbers)
- lr_finder.py: the learning-rate range test on a copy of the model
"""

from nnstudio.engine.fit.control import FitConfig, FitResult, TrainingControl
from nnstudio.engine.fit.loop import fit, layer_gradient_norms

__all__ = ["FitConfig", "FitResult", "TrainingControl", "fit", "layer_gradient_norms"]
