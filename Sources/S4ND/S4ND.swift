/// N-dimensional S4 layers and classifiers.
