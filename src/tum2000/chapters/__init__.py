"""What each computing chapter of the book shows: its values, verdicts and
sentences, as tested functions (the notebooks call them and glue the results)."""
