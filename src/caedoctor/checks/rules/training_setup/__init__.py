"""CAE5xx: the training set-up: a learning rate too high or too low, batch sizes against BatchNormalization
and against the number of images."""
