"""CAE4xx: activations and initial weights: ReLU on signed data, saturating stacks and first layers, initial
weights or biases that saturate or kill units before training starts."""
