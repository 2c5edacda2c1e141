"""The GitHub Action: settings from INPUT_*, the user's project installed, one run, published."""
