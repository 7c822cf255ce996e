"""What is kept: results stored with the book (:mod:`.stored`)."""
