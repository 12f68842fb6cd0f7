"""The network and its training: layers, activations, initializers, optimizers, the trainer."""
