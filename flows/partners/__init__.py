"""One module per partner, named after it: how its synthetic extracts are made (`SYNTH`)."""
