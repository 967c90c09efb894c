# No models. The module exists because Django sends post_migrate only to apps that have
# one, and tcgtracker.apps creates the cache table on post_migrate.
