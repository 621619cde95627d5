"""incseg: continual model curation for semantic segmentation."""
