"""The demo graph's domain records and the word lists the seeded data set is drawn from."""
