"""Background work: arq jobs that call app services, and their schedule."""
