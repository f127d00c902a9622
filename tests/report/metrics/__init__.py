"""One test file per metric module of bot/report/metrics/, measured on the hand-built scenario."""
