"""simharness harness: modem model, network world, scenarios, transports and the command line."""
