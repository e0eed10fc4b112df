"""What train, evaluate and serve share: the network, contributions, checkpoints, splits and
metrics."""
