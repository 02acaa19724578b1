"""Parameter-free location encoders. Importing this package registers them (no heavy imports)."""
