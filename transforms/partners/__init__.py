"""One module per partner, named after it: the need rules its records feed (`NEED_RULES`)."""
