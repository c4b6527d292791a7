"""The pytest plugins: scenarios as test items, the hardware-in-the-loop suite."""
