"""`cio-aep replay`: deliver files of events to a webhook URL at a chosen rate, losing none.

Modules: `engine` (the async pipeline), `http_transport` (the HTTP hot path), `rate`
(pacing), `checkpoint` (durable progress for `--resume`), `dead_letter` (events that failed for
good, itself a valid replay input), `progress` (stderr) and `summary` (counts and latencies).
Nothing here is imported by the light commands: `cio-aep replay` imports it when it runs.
"""
