"""PyTorch networks. Models take sizes and spaces as arguments and never read global configuration."""
