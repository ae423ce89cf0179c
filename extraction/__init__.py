"""Text -> entities and patients with evidence. Knows nothing of PubMed transport or graphs."""
