"""The kernel every imgpipe service shares, in rooms, each importing only the rooms before it:

- `contract`: the wire contract: messages, topics and their keys, error codes, presets;
- `config`: the settings, the one place that reads the environment;
- `runtime`: the worker runtime: Kafka, Faust, retrying, logs, topic creation;
- `storage`: stored objects: the backends, the input spool and the row messages sent from it,
  where outputs live;
- `state`: documents in the database: requests, rows, expiry, the layout and its migrations.
"""
