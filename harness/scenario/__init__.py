"""Scenarios: loader, runner, expectations, steps and the report."""
