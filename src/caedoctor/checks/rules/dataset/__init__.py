"""CAE1xx: the data itself, before any model sees it: NaNs, too few or duplicate images, inputs not scaled,
targets on another scale than the inputs or not paired with them."""
