"""Staff customer search over a normalised, indexed table of search terms."""
