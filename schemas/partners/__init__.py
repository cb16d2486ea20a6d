"""One module per partner, named after it: its data contract (`PARTNER`)."""
