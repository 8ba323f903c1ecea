"""CAE3xx: the architecture: a bottleneck too narrow or not compressing, skip connections, capacity, kernels
and receptive fields against the image, transposed-convolution strides, regularization."""
