"""The worker runtime: the Kafka producer and topic creation, Faust apps and workers, waiting out
an unavailable broker or database, and the logs every service writes."""
