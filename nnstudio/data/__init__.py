"""Datasets: toy sets, MNIST/IDX, CSV/NPZ, splits, scaling, augmentation. Never imports Qt."""
