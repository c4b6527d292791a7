"""The simulated network: world, NAS, MME/HSS, packet core, operators, logins and the wire."""
