"""Card readers: PC/SC, the virtual reader that serves a simulated card, real-card safety, APDU traces."""
