"""CAE2xx: the output layer, the loss and the shapes against the data: an output range that cannot reach the
targets, a loss that does not fit them, an output shape that differs from the target's."""
