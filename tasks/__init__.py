"""The nine SatCLIP downstream tasks. Importing this package registers them (no data is read)."""
