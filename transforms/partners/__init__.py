"""One module per partner, named after it: the qualifying events its records can show
(`EVENTS`). Which event counts towards which need, over which lookback, is a framework's
choice (transforms/frameworks/*.yaml), never the partner module's."""
