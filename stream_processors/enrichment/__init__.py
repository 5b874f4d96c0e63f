"""Company enrichment: the directory of firmographics that qualification reads."""
