"""The yardstick of DESIGN.md's performance notes, runnable: a plain DRF view doing a
payment's three inserts ("~700/s on a 2-core machine like ours"). `make bench-reference`
serves it beside `make run` and loads both in turn, so Paydesk's throughput can be read
against what this machine does for a plain Django project at the same hour."""
