"""Developer tools outside the product: training the bundled test model (TRAINING.md)."""
