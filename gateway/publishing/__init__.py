"""Publishing accepted rows to imgpipe.rows, paced in fair shares, checkpointed."""
